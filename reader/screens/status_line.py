"""The annotator's lines of words: the header, the label legend, and the status line's
account of the selection (pure functions, no widget)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from annotations.models import LabelScheme, Span
from annotations.names import safe_colour
from annotations.session import EditingSession
from annotations.terminal import visible


def header_title(session: EditingSession) -> str:
    """Where the document is, its status, the progress, why a queue put the document here
    (``reader annotate --order``) and the extractors shown.  What a user needs comes
    first, so that a narrow header cuts only what follows."""
    accepted, total = session.progress()
    reason = session.reason_of(session.doc_id)  # a queue's: why this document is next
    return (f"{session.index + 1}/{len(session)} · {session.status_of(session.doc_id)} · "
            f"{accepted}/{total} accepted · "
            + (f"next because {visible(reason)} · " if reason else "")
            + f"{visible(', '.join(session.sources())) or 'no suggestions'}")


def legend(scheme: LabelScheme) -> Text:
    """The label keys in their labels' colours; how many labels have no key."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for label in scheme.entities:
        if label.key:
            text.append(f"{label.key}", "bold reverse")
            text.append(f" {visible(label.name)} ", Style(color=safe_colour(label.colour),
                                                          bold=True))
    hidden = [label.name for label in scheme.entities if not label.key]
    if hidden:
        text.append(f" l +{len(hidden)}", "dim")
    return text


def describe_selection(status: Text, session: EditingSession, token_range: tuple[int, int],
                       under: list[Span], is_range: bool) -> Span | None:
    """Append to ``status`` what a label key would act on: a range (and the entities it
    is over), or the entity selected with its state and relations, or the cursor's
    offsets.  Returns the entity described, if one is."""
    text = session.text
    start, end = token_range
    if is_range and not (len(under) == 1 and under[0].key == (start, end)):
        status.append("selection ", "bold")
        status.append(f"{visible(text[start:end])!r} {start}-{end}")
        if under:
            status.append(f"  over {len(under)} entit{'y' if len(under) == 1 else 'ies'}",
                          "dim")
        return None
    if not under:
        status.append(f"{start}-{end}", "dim")
        return None
    span = under[0]
    status.append(visible(span.label), "bold")
    status.append(f" {visible(span.text_in(text))!r} {span.start}-{span.end}")
    state = span.state if span.source == "human" else f"{span.state} ({visible(span.source)})"
    status.append(f"  {state}", "dim")
    problems = session.relation_problems()
    for rel in session.relations_of(span):
        # The entity's relations, both ways, so they are visible where one reads.
        other = session.other_end(rel, span)
        arrow = "→" if rel.head in (span.key, span.ref) else "←"
        status.append(f"  {arrow} {visible(rel.label)} ",
                      "bold red" if rel.key in problems else "bold magenta")
        status.append(repr(visible(text[other[0]:other[1]])))
    return span
