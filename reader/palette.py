"""Command palette entries (ctrl+p) for every action of the annotate screen, and the
store-wide repeat of a relabel (no key: it asks first)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from annotations.describe import quoted
from annotations.terminal import visible

from .screens.question import Question

if TYPE_CHECKING:
    from annotations.session import Change

    from .screens.annotate import AnnotateScreen


class AnnotatorCommands(Provider):
    """One command per visible-in-help binding of the annotate screen, by its description."""

    def _commands(self) -> Iterator[tuple[str, str, object]]:
        from .bindings import ANNOTATE_BINDINGS, ARTICLE_BINDINGS
        from .screens.annotate import AnnotateScreen

        screen = self.screen
        if not isinstance(screen, AnnotateScreen):
            return
        for binding in ANNOTATE_BINDINGS:
            if binding.id and binding.id.startswith("label-") and binding.id != "label-picker":
                continue  # ten "Label N" entries would drown the list; "Label…" covers them
            # The cursor's and the selection's keys belong to the article widget.
            node = screen.article if binding in ARTICLE_BINDINGS else screen
            if node.check_action(binding.action.split("(")[0], ()) is not True:
                continue
            yield (binding.description.rstrip("…"), binding.tooltip,
                   partial(node.run_action, binding.action))
        # No key of its own: a store-wide edit is asked for by name, and asks first.
        if screen.session.repeatable_relabel is not None:
            yield ("Repeat the relabel in every open document",
                   "= for the whole store: the last relabel's change in every open (not "
                   "accepted) document, after a question that states the count",
                   partial(repeat_relabel_everywhere, screen))

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback,  # type: ignore[arg-type]
                          help=help_text)


def repeat_relabel_everywhere(screen: AnnotateScreen) -> None:
    """The store-wide ``=``: ask, stating the count, then make the last relabel's change
    in every open document (one undo step per document)."""
    session = screen.session
    last = session.repeatable_relabel
    plan = session.relabel_everywhere_plan() if last is not None else []
    if last is None or not plan:
        screen.say("No relabel to repeat in the open documents: relabel an entity first")
        return
    text, old, new = last
    spans = sum(count for _, count in plan)

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        changes: list[Change] = []

        def everywhere() -> None:  # run_edit handles a refused save
            changes.extend(session.repeat_relabel_everywhere())

        screen.run_edit(everywhere, nothing=None)
        screen.open_document(session.index)
        if not changes:
            return
        screen.notify(visible(
            f"{quoted(text, 0, len(text))} {old} → {new}: {spans} suggestion(s) in "
            f"{len(changes)} document(s); u undoes them one document at a time"),
            timeout=5, markup=False)

    screen.app.push_screen(Question(
        visible(f"Relabel {spans} unreviewed {old} suggestion(s) "
                f"{quoted(text, 0, len(text))} as {new} in {len(plan)} open document(s)?"),
        "Accepted, rejected and ignored documents are left alone. Each document is one "
        "undo step."), answered)
