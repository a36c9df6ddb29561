"""Undo and redo of annotation edits, as snapshots of the annotation before and after.

Pure data (no UI): the annotator records one :class:`Edit` per user action and,
to undo it, saves ``before`` back through the store (``after`` to redo).  Edits
of several documents share one history, so undo works across documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Annotation


@dataclass(frozen=True)
class Edit:
    """One user action on one document: what it was called and the annotation around it.

    ``tag`` is the editor's own note on the edit (an adjudication keeps which choice the
    edit made, to take it back with the edit).  ``run`` is how many spans at the start
    and at the end of ``before``'s list ``after`` keeps (the same both ways), when known:
    undo and redo then need not compare the two lists again."""

    doc_id: str
    description: str
    before: Annotation
    after: Annotation
    tag: object = None
    run: tuple[int, int] | None = None


@dataclass
class EditHistory:
    """A linear undo/redo history; a new edit after an undo drops the undone edits."""

    limit: int = 1000
    _done: list[Edit] = field(default_factory=list)
    _undone: list[Edit] = field(default_factory=list)

    def record(self, edit: Edit) -> None:
        self._done.append(edit)
        if len(self._done) > self.limit:
            del self._done[0]
        self._undone.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def done(self) -> tuple[Edit, ...]:
        """The edits an undo can revert, oldest first."""
        return tuple(self._done)

    @property
    def last_done(self) -> Edit | None:
        """The edit an undo would revert."""
        return self._done[-1] if self._done else None

    @property
    def last_undone(self) -> Edit | None:
        """The edit a redo would apply again."""
        return self._undone[-1] if self._undone else None

    def undo(self) -> Edit | None:
        """The edit to revert (save its ``before``), or None if there is none."""
        if not self._done:
            return None
        edit = self._done.pop()
        self._undone.append(edit)
        return edit

    def redo(self) -> Edit | None:
        """The edit to apply again (save its ``after``), or None if there is none."""
        if not self._undone:
            return None
        edit = self._undone.pop()
        self._done.append(edit)
        return edit

    def __len__(self) -> int:
        return len(self._done)
