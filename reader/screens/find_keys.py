"""The annotate screen's find keys: ``/`` asks for a text and selects its next match,
find-next (F3) goes on from the cursor.

The layer between :class:`~reader.screens.relation_keys.RelationKeys` and
:class:`~reader.screens.annotate.AnnotateScreen`, kept apart so that the screen class
holds only its own wiring; the search itself is the session's
(:meth:`~annotations.session.EditingSession.find`).
"""

from __future__ import annotations

from annotations.terminal import visible

from .pickers import FindScreen
from .relation_keys import RelationKeys


class FindKeys(RelationKeys):
    """Find and find-next, for the annotate screen."""

    last_find = ""  # the last text searched for: what find-next looks for

    def action_find(self) -> None:
        def chosen(query: str | None) -> None:
            if query:
                self.last_find = query
                self._find(query, self.article.token_range()[0])

        self.app.push_screen(FindScreen(self.last_find), chosen)

    def action_find_next(self) -> None:
        if self.last_find:
            self._find(self.last_find, self.article.token_range()[0] + 1)

    def _find(self, query: str, start: int) -> None:
        """Select the next match (a plain range: it started from no entity) and say
        which match it is (``3/7``) and when the search wrapped."""
        found = self.session.find(query, start)
        if found is None:
            self.notify(f"{visible(query)!r} is not in this article", severity="warning",
                        markup=False)
            return
        self.article.select_range(found.start, found.end)
        self.notify(f"{visible(query)!r}: {found.index + 1}/{found.count}"
                    + (" (wrapped to the start)" if found.wrapped else ""), timeout=2,
                    markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "find_next":
            return bool(self.last_find) or None
        return super().check_action(action, parameters)
