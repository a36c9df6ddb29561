"""The screens' pure parts, without Pilot: the span painter after any edit paints what a
fresh paint of the document paints, relation mode's hint letters, and help from the keymap."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from annotations.models import Annotation, Document, EntityLabel, LabelScheme, Span
from annotations.session import EditingSession
from annotations.store import GoldStore
from reader.screens.relation_mode import RelationMode, hint_codes
from reader.screens.span_painter import SpanPainter

TEXT = " ".join(f"w{n}" for n in range(60)) + "\n"


def word(n: int) -> tuple[int, int]:
    start = TEXT.index(f"w{n} ")
    return start, start + len(f"w{n}")


@pytest.mark.parametrize("overlapping", [False, True], ids=["flat", "overlapping"])
def test_painting_changes_equals_painting_afresh(tmp_path: Path, overlapping: bool) -> None:
    rng = random.Random(4)
    with GoldStore(tmp_path / "gold.json") as store:
        doc = Document.from_text(TEXT)
        store.add_documents([doc])
        store.set_labels(LabelScheme(overlapping=overlapping, entities=[
            EntityLabel(name=n, colour=c) for n, c in (("A", "#ff0000"), ("B", "#00ff00"))]))
        store.save_annotation(Annotation(doc_id=doc.id, spans=[
            Span(start=word(n)[0], end=word(n)[1], label="A", source="x@1", state="suggested")
            for n in range(0, 60, 4)]))
        session = EditingSession(store)
        session.open(0)
        painter = SpanPainter(session)
        shown = Counter(painter.paint_all())
        for _ in range(60):
            first = rng.randrange(58)
            start, end = word(first)[0], word(first + rng.randrange(3))[1]
            spans = session.overlapping(start, end)
            move = rng.randrange(6)
            if move == 0:
                change = session.label(start, end, rng.choice("AB"),
                                       spans[0] if spans and overlapping else None)
            elif move == 1 and spans:
                change = session.delete_span(spans[0])
            elif move == 2 and len(session.annotation.spans) > 1:
                one, two = rng.sample(session.annotation.spans, 2)
                change = session.add_relation(one, two, "rel")
            elif move == 3:
                change = session.confirm(start, end)
            else:
                change = session.undo() if move == 4 else session.redo()
            if change is None:
                continue
            removed, added = painter.paint_change(change)
            shown.subtract(removed)
            shown.update(added)
            assert +shown == Counter(SpanPainter(session).paint_all())


def test_relation_mode_hints_one_and_two_letters() -> None:
    spans = [Span(start=n * 3, end=n * 3 + 2, label="A") for n in range(30)]
    mode = RelationMode.start(spans[0], spans)
    assert spans[0] not in mode.targets.values() and len(mode.targets) == 29
    assert hint_codes(29)[:2] == ["aa", "as"]
    assert mode.type("a") is None  # half a code
    assert mode.type("s") == mode.targets["as"]
    with pytest.raises(KeyError):
        mode.type("z")
