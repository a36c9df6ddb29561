"""The annotator redraws only the spans an edit changed: what it shows must still equal
what a fresh opening of the document shows, after any mix of edits, undo and redo."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from annotations.models import Annotation, Document, EntityLabel, LabelScheme, Span
from annotations.store import GoldStore
from reader.app import make_app
from reader.screens.annotate import AnnotateScreen

pytestmark = pytest.mark.anyio
EXTRACTORS = ("one@1", "two@1")  # by "is not the first span"
KEYS = ["tab", "tab", "shift+tab", "right", "shift+right", "1", "2", "3", "1", "2", "d",
        "c", "u", "u", "ctrl+y", "home"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def shown(screen: AnnotateScreen) -> tuple:
    return (sorted(screen.view.spans, key=lambda s: (s.start, s.end)),
            list(screen.session.spans.starts),
            screen.app.title)


@pytest.mark.parametrize(("seed", "overlapping"), [(0, False), (1, False), (2, True)],
                         ids=["flat-0", "flat-1", "overlapping"])
async def test_random_edits_show_what_a_fresh_open_shows(tmp_path: Path, seed: int,
                                                         overlapping: bool) -> None:
    rng = random.Random(seed)
    text = " ".join(f"word{n}" for n in range(120)) + "\n"
    doc = Document.from_text(text)
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.set_labels(LabelScheme(overlapping=overlapping, entities=[
            EntityLabel(name=name, key=str(key), colour="#1f77b4")
            for key, name in enumerate(["PER", "ORG", "LOC"], start=1)
        ]))
        starts = [0, *sorted(rng.sample(range(1, 110), 30))]
        # The first span, under the cursor at the start, is the only one of its source:
        # deleting it must drop that source from the header.
        spans = [Span(start=text.index(f"word{n} "), end=text.index(f"word{n} ") + 4,
                      label="PER", source=EXTRACTORS[n > 0], state="suggested")
                 for n in starts]
        if overlapping:
            # Spans over two and three words, holding or crossing the one-word ones: the
            # spans drawn stacked change as edits add and remove the spans around them.
            for n in starts[1::3]:
                first = text.index(f"word{n} ")
                spans.append(Span(start=first, end=text.index(f"word{n + 2} ") + 4,
                                  label="ORG", source="two@1", state="suggested"))
            spans.sort(key=lambda s: (s.start, s.end, s.label))
        # Saved as the annotation (seeding from a prediction would give one source).
        store.save_annotation(Annotation(doc_id=doc.id, spans=spans))
        app = make_app(store, load_model=False, start=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, AnnotateScreen)
            assert "one@1, two@1" in app.title
            await pilot.press("d")
            assert "one@1" not in app.title and "two@1" in app.title
            # f: the next span at the cursor, then d deletes it (an outer one, at times).
            keys = [*KEYS, "f", "f", "f", "d", "d"] if overlapping else KEYS
            for _ in range(40):
                await pilot.press(rng.choice(keys))
                seen = shown(screen)
                assert seen[1] == [s.start for s in screen.annotation.spans]
                stored = store.annotation(doc.id)
                if stored is not None:
                    assert stored.spans == screen.annotation.spans
                screen.open_document(screen.session.index)
                await pilot.pause()
                assert shown(screen) == seen


async def test_spans_starting_inside_another_are_drawn_stacked_as_edits_change(
        tmp_path: Path) -> None:
    """In an overlapping layer a span starting inside another is underlined in italics;
    deleting the outer span draws the inner ones plain again, undo stacks them again,
    each time as a fresh opening of the document draws them."""
    text = " ".join(f"word{n}" for n in range(20)) + "\n"
    doc = Document.from_text(text)

    def words(first: int, last: int, label: str) -> Span:
        return Span(start=text.index(f"word{first} "),
                    end=text.index(f"word{last} ") + len(f"word{last}"), label=label)

    def stacked_ranges(screen: AnnotateScreen) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in screen.view.spans
                if s.style.italic and s.style.underline]

    inner, outer, crossing = words(2, 2, "PER"), words(2, 4, "ORG"), words(3, 6, "LOC")
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.set_labels(LabelScheme(overlapping=True, entities=[
            EntityLabel(name=name, key=str(key), colour="#1f77b4")
            for key, name in enumerate(["PER", "ORG", "LOC"], start=1)]))
        store.save_annotation(Annotation(doc_id=doc.id, spans=[inner, outer, crossing]))
        app = make_app(store, load_model=False, start=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, AnnotateScreen)
            # "word2" starts with the longer ORG; "word3 … word6" starts inside it.
            assert stacked_ranges(screen) == [inner.key, crossing.key]
            await pilot.press("tab", "f")  # the ORG over "word2 word3 word4"
            assert screen.spans_under_cursor()[0] == outer
            for keys, expected in ((["d"], []), (["u"], [inner.key, crossing.key])):
                await pilot.press(*keys)
                seen = shown(screen)
                assert stacked_ranges(screen) == expected
                screen.open_document(screen.session.index)
                await pilot.pause()
                assert shown(screen) == seen
