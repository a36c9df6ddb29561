"""The review screen: walk through where an extractor and the gold set disagree.

The article is shown in the annotator's :class:`~reader.widgets.article_view.ArticleView`
with gold and prediction together; every span carries its verdict (correct,
wrong label, wrong boundary, spurious, missed) in its own style, explained by a
legend.  Documents come worst strict F1 first and the header shows the open
document's scores.  Keys jump to the next or previous disagreement, take the
prediction into gold, keep the gold (confirming it), or remove the gold span;
each is one call on the app's :class:`~annotations.session.EditingSession` (the
same rules as the annotator: relations follow a span whose boundary or label is
fixed), saved at once, with undo and redo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Header, Static

from annotations.describe import shown
from annotations.evaluation import EvalDocument, SpanGroup, compare_spans, score_entities
from annotations.models import Annotation, Span
from annotations.review import ReviewDocument
from annotations.session import Change, EditingSession
from annotations.terminal import visible

from ..bindings import REVIEW_BINDINGS, REVIEW_FOOTER
from ..widgets.article_view import ArticleView, DisplaySpan
from .key_footer import KeyFooter
from .session_screen import SessionScreen
from .status_line import StatusLine

if TYPE_CHECKING:
    from ..app import ReviewApp


# One style per verdict: gold spans are filled, predictions underlined, so both show
# where they overlap.  The tag after a span says which it is.
VERDICT_STYLES: dict[str, tuple[Style, Style]] = {
    "label": (Style(color="#000000", bgcolor="#ffaf00"), Style(color="#000000",
                                                              bgcolor="#ffaf00", bold=True)),
    "boundary": (Style(color="#ffffff", bgcolor="#8700af"), Style(color="#ffffff",
                                                                 bgcolor="#8700af", bold=True)),
    "boundary_pred": (Style(color="#ff87ff", underline=True, bold=True),
                      Style(color="#ff87ff", italic=True, bold=True)),
    "spurious": (Style(color="#ff5f5f", underline=True, bold=True),
                 Style(color="#ff5f5f", italic=True, bold=True)),
    "missed": (Style(color="#ffffff", bgcolor="#d70000"), Style(color="#ffffff",
                                                               bgcolor="#d70000", bold=True)),
}
VERDICT_NAMES = {"correct": "correct", "label": "wrong label", "boundary": "wrong boundary",
                 "spurious": "spurious", "missed": "missed"}


def review_spans(groups: list[SpanGroup], colours: dict[str, str]) -> list[DisplaySpan]:
    """Display spans for gold and prediction together, styled by verdict (labels shown
    escaped: a store written elsewhere may hold control characters in one)."""
    out: list[DisplaySpan] = []
    for group in groups:
        if group.verdict == "correct":
            s, e, label = group.gold[0]
            colour = colours.get(label, "#7f7f7f")
            out.append(DisplaySpan(s, e, f" {visible(label)}",
                                   Style(color="#ffffff", bgcolor=colour),
                                   Style(color="#000000", bgcolor=colour, bold=True), "correct"))
        elif group.verdict == "label":
            (s, e, gold_label), (_, _, pred_label) = group.gold[0], group.pred[0]
            style, tag_style = VERDICT_STYLES["label"]
            out.append(DisplaySpan(s, e, f" {visible(gold_label)}≠{visible(pred_label)}",
                                   style, tag_style, "label"))
        elif group.verdict == "boundary":
            style, tag_style = VERDICT_STYLES["boundary"]
            out += [DisplaySpan(s, e, f" {visible(label)}", style, tag_style, "boundary")
                    for s, e, label in group.gold]
            style, tag_style = VERDICT_STYLES["boundary_pred"]
            out += [DisplaySpan(s, e, f" {visible(label)}~", style, tag_style, "boundary-pred")
                    for s, e, label in group.pred]
        elif group.verdict == "spurious":
            style, tag_style = VERDICT_STYLES["spurious"]
            out += [DisplaySpan(s, e, f" {visible(label)}+", style, tag_style, "spurious")
                    for s, e, label in group.pred]
        else:
            style, tag_style = VERDICT_STYLES["missed"]
            out += [DisplaySpan(s, e, f" {visible(label)}−", style, tag_style, "missed")
                    for s, e, label in group.gold]
    return out


def legend() -> Text:
    text = Text()
    text.append(" LABEL ", Style(color="#ffffff", bgcolor="#5f87af", bold=True))
    text.append(" correct  ")
    for key, tag, name in (("label", "≠", "wrong label"), ("boundary", "", "gold"),
                           ("boundary_pred", "~", "predicted boundary"),
                           ("spurious", "+", "spurious"), ("missed", "−", "missed")):
        text.append(f" LABEL{tag} ", VERDICT_STYLES[key][1])
        text.append(f" {name}  ")
    return text


def review_groups(session: EditingSession, document: ReviewDocument) -> list[SpanGroup]:
    """The open document's gold against the prediction, place by place, with verdicts."""
    gold = [(s.start, s.end, s.label) for s in session.annotation.spans]
    return compare_spans(gold, document.pred)


def review_header(session: EditingSession, document: ReviewDocument, index: int, count: int,
                  extractor: str) -> tuple[str, str]:
    """Title and subtitle: the open document's strict scores and counts first (so that a
    narrow header still shows them), then its partial F1 and title (article text, so
    its control characters are shown, not sent)."""
    doc = EvalDocument(document.doc_id, session.text,
                       [(s.start, s.end, s.label) for s in session.annotation.spans],
                       document.pred)
    entities = score_entities([doc])
    s, partial = entities.micro("strict"), entities.micro("partial")["f1"]
    return (f"{index + 1}/{count} strict P {100 * s['precision']:.1f} "
            f"R {100 * s['recall']:.1f} F1 {100 * s['f1']:.1f} · COR {s['correct']} "
            f"INC {s['incorrect']} MIS {s['missed']} SPU {s['spurious']}",
            f"partial F1 {100 * partial:.1f} · "
            f"{visible(document.title or document.doc_id)} · {visible(extractor)}")


class ReviewScreen(SessionScreen):
    """Gold and one extractor's prediction over the article, disagreement by disagreement."""

    BINDINGS: ClassVar[list[BindingType]] = list(REVIEW_BINDINGS)
    KEYS = REVIEW_BINDINGS
    FOOTER = REVIEW_FOOTER
    DIMMED_REASONS: ClassVar[dict[str, str]] = {
        "review-undo": "Nothing to undo", "review-redo": "Nothing to redo",
        "review-take": "No disagreement here", "review-keep": "No disagreement here",
        "review-remove": "No gold span here to remove"}
    DEFAULT_CSS = """
    ReviewScreen #legend { height: auto; background: $panel; padding: 0 1; }
    ReviewScreen #status { height: 1; background: $panel; padding: 0 1; }
    ReviewScreen ArticleView { height: 1fr; }
    """

    def __init__(self, app_state: ReviewApp) -> None:
        super().__init__(app_state.session)
        self.state = app_state
        self.extractor = app_state.extractor_id
        self.documents = app_state.documents
        self.index = 0
        self.groups: list[SpanGroup] = []
        self.current: int | None = None  # index into self.groups
        self._region = (-1, False)  # where the edit under way acts, and whether to go on

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⚖")
        yield Static(legend(), id="legend")
        yield ArticleView(id="article")
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def view(self) -> ArticleView:
        return self.query_one(ArticleView)

    @property
    def document(self) -> ReviewDocument:
        return self.documents[self.index]

    @property
    def group(self) -> SpanGroup | None:
        return self.groups[self.current] if self.current is not None else None

    def on_mount(self) -> None:
        self.colours = self.session.colours
        self.open_document(0)
        self.view.focus()

    # -- documents and groups ------------------------------------------------------

    @property
    def annotation(self) -> Annotation:
        return self.session.annotation

    def open_document(self, index: int, last: bool = False) -> None:
        self.index = max(0, min(index, len(self.documents) - 1))
        self.session.open(self.index)
        self.text = self.session.text
        self._regroup()
        # In a layer whose spans nest, the edge marks show where each one starts and ends.
        self.view.set_show_edges(self.session.allows_overlap)
        self.view.load(self.text, review_spans(self.groups, self.colours))
        disagreements = self._disagreements()
        self.current = (disagreements[-1] if last else disagreements[0]) if disagreements else None
        self._show()

    def _regroup(self) -> None:
        self.groups = review_groups(self.session, self.document)

    def _disagreements(self) -> list[int]:
        return [i for i, g in enumerate(self.groups) if g.is_disagreement]

    def _show(self, scroll: bool = True) -> None:
        group = self.group
        if group is not None:
            self.view.set_cursor(group.start, group.end, scroll=scroll)
        else:
            self.view.cursor = None
            self.view.refresh()
        self.app.title, self.app.sub_title = review_header(
            self.session, self.document, self.index, len(self.documents), self.extractor)
        self._show_status()
        self.refresh_footer()

    def footer_state(self) -> tuple[object, ...]:
        group = self.group
        return (*super().footer_state(), group is not None and bool(group.gold),
                group is not None)

    def _show_status(self) -> None:
        status = Text(no_wrap=True, overflow="ellipsis")
        group = self.group
        disagreements = self._disagreements()
        if group is None:
            status.append("No disagreements in this document", "bold green")
            status.append("   ] next document, [ previous", "dim")
        else:
            position = disagreements.index(self.current) + 1 if self.current in \
                disagreements else 0
            status.append(f"{position}/{len(disagreements)} ", "dim")
            status.append(VERDICT_NAMES[group.verdict], "bold")
            for side, spans in (("gold", group.gold), ("predicted", group.pred)):
                if spans:
                    status.append(f"  {side}: ")
                    status.append(", ".join(f"{visible(label)} {shown(self.text[s:e])!r}"
                                            for s, e, label in spans))
        self.query_one("#status", Static).update(status)

    # -- navigation -----------------------------------------------------------------

    def action_next_disagreement(self, step: int) -> None:
        disagreements = self._disagreements()
        here = self.group.start if self.group is not None else (-1 if step > 0 else 1 << 62)
        if step > 0:
            ahead = [i for i in disagreements if self.groups[i].start > here]
        else:
            ahead = [i for i in reversed(disagreements) if self.groups[i].start < here]
        if ahead:
            self.current = ahead[0]
            self._show()
            return
        target = self.index + step
        if 0 <= target < len(self.documents):
            self.open_document(target, last=step < 0)
        else:
            self.app.bell()
            self.notify("No more disagreements this way", timeout=1.5)

    # -- edits ----------------------------------------------------------------------

    def _run(self, edit: object, *args: object, region_start: int,
             advance: bool = False) -> Change | None:
        self._region = (region_start, advance)
        return self.run_edit(edit, *args, nothing=None)  # type: ignore[arg-type]

    def show_change(self, change: Change) -> None:
        if change.reopened:
            self.open_document(self.session.index)
        region, advance = self._region
        if region < 0:  # an undo or redo: stay where it changed
            region = min((span.start for span in change.removed + change.added), default=0)
        self._region = (-1, False)
        self._after_change(region, advance)

    def _after_change(self, region_start: int, advance: bool) -> None:
        self._regroup()
        self.view.set_spans(review_spans(self.groups, self.colours))
        # Stay on what is now at the edited place, or go on to the next disagreement.
        disagreements = self._disagreements()
        candidates = [i for i in disagreements
                      if (self.groups[i].start > region_start if advance
                          else self.groups[i].end > region_start)]
        self.current = candidates[0] if candidates else (
            disagreements[-1] if disagreements else None)
        self._show()

    def _gold_spans(self, group: SpanGroup) -> list[Span]:
        found = (self.session.spans.get((start, end)) for start, end, _ in group.gold)
        return [span for span in found if span is not None]

    def action_take_prediction(self) -> None:
        group = self.group
        if group is None:
            return
        self._run(self.session.take_prediction, self._gold_spans(group), group.pred,
                  self.extractor, region_start=group.start)

    def action_keep_gold(self) -> None:
        group = self.group
        if group is None:
            return
        change = self._run(self.session.confirm_spans, self._gold_spans(group),
                           region_start=group.start, advance=True)
        if change is None:
            # Nothing to save (the gold is already confirmed): just go on.
            self.action_next_disagreement(1)

    def action_remove_span(self) -> None:
        group = self.group
        if group is None or not group.gold:
            self.app.bell()
            return
        self._run(self.session.replace, self._gold_spans(group), [],
                  region_start=group.start)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("take_prediction", "keep_gold"):
            return self.group is not None or None
        if action == "remove_span":
            return (self.group is not None and bool(self.group.gold)) or None
        if action == "undo":
            return self.session.can_undo or None
        if action == "redo":
            return self.session.can_redo or None
        return True
