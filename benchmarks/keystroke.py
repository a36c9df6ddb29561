"""Per-key latency of the annotator's ArticleView against a naive whole-article view.

    python benchmarks/keystroke.py [--presses 200] [--naive-presses 200] [--cpu]

For synthetic articles of 1,000, 10,000 and 100,000 words (about one entity in
every 12 words), headless at 120x40, it measures the time from sending a key
event until every message queue is drained and the screen's dirty regions are
rendered, for: cursor move (right), next entity (tab), assign label (1), undo (u),
the boundary keys (Shift+→ grows the selected entity's end, < its start; each pressed
after a Tab, unmeasured, selects the next entity) and an unbound key (f12).  It
prints the median per key, the added latency over the unbound key, and, for the
10,000-word article, the same keys on a naive view
(the whole article as one ``rich.text.Text`` in a ``Static``, rebuilt per key) and
the ratio.  It also times opening the 100,000-word article, and the same keys on a
100,000-word article in an overlapping layer where 20% of the spans nest in another.

The annotator runs with Textual's notifications on, as ``reader annotate`` does (a test
app has them off), so that what an edit's notice costs is measured too.

With ``--cpu`` each key is timed in CPU seconds of the app's thread
(``time.thread_time``) rather than wall seconds: on a shared, loaded machine the wall
time of a key is mostly waiting for a core, and its CPU time is what the key costs.

The articles are generated here (no corpus text); each run makes a fresh
temporary store.  Label and undo edits go through the same ``EditingSession`` (and so
``GoldStore.save_annotation``: journal append + fsync) in both views, as in the app.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotations.models import (  # noqa: E402
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Span,
)
from annotations.session import EditingSession, seed_annotation  # noqa: E402
from annotations.store import GoldStore  # noqa: E402
from reader.app import make_app  # noqa: E402
from reader.screens.annotate import AnnotateScreen  # noqa: E402
from reader.screens.span_painter import display_spans  # noqa: E402

SIZE = (120, 40)
KEYS = {"cursor move": "right", "next entity": "tab", "assign label": "1", "undo": "u",
        "end +1 token": "shift+right", "start -1 token": "less_than_sign"}
# Labels the generator never uses, pressed in turn so that every press is a real edit.
EDIT_LABELS = {"1": "MISC", "0": "OTHER"}
UNBOUND = "f12"
GENERATED = ["PERSON", "ORG", "GPE", "DATE", "MONEY", "NORP", "LOC", "EVENT"]
SYLLABLES = ("ka ri to ne sa mi lo pe ra du an el or in ve ta co ba ge li mu no fa "
             "ser ton mar bel dra vin hal cor les ped").split()


def synthetic_article(words: int, seed: int = 7) -> tuple[str, list[tuple[int, int, str]]]:
    """A text of about ``words`` words in paragraphs, with an entity every ~12 words."""
    rng = random.Random(seed)
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    length = 0
    count = 0
    sentence_left = rng.randint(8, 20)
    paragraph_left = rng.randint(3, 6)
    start_sentence = True

    def emit(piece: str) -> None:
        nonlocal length
        parts.append(piece)
        length += len(piece)

    while count < words:
        if count and rng.random() < 1 / 12:
            name_words = rng.randint(1, 3)
            name = " ".join(
                "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
                for _ in range(name_words)
            )
            if rng.random() < 0.03:
                name += " 東京"  # wide characters inside an entity
            start = length
            emit(name)
            spans.append((start, length, rng.choice(GENERATED)))
            count += name_words
        else:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.01:
                word += "🚢"
            emit(word.capitalize() if start_sentence else word)
            count += 1
        start_sentence = False
        sentence_left -= 1
        if sentence_left <= 0:
            emit(".")
            sentence_left = rng.randint(8, 20)
            start_sentence = True
            paragraph_left -= 1
            if paragraph_left <= 0:
                emit("\n\n")
                paragraph_left = rng.randint(3, 6)
                continue
        emit(" " if not start_sentence else " ")
    return "".join(parts).rstrip() + "\n", spans


def make_store(folder: Path, sizes: list[int], nested: float = 0.0
               ) -> tuple[GoldStore, dict[int, str], dict[int, int]]:
    """A store with one synthetic article per size; with ``nested`` > 0 an overlapping
    layer where that share of the entities holds a nested span (its first word)."""
    store = GoldStore(folder / ("nested.json" if nested else "gold.json"))
    labels = [EntityLabel(name=name, key=key, colour="#d62728")
              for key, name in EDIT_LABELS.items()]
    labels += [EntityLabel(name=name, key=str(i + 2), colour="#1f77b4")
               for i, name in enumerate(GENERATED[:8])]
    store.set_labels(LabelScheme(entities=labels, overlapping=nested > 0))
    ids: dict[int, str] = {}
    entity_counts: dict[int, int] = {}
    for words in sizes:
        text, raw = synthetic_article(words, seed=words)
        doc = Document.from_text(text, {"title": f"synthetic {words} words"})
        store.add_documents([doc])
        spans = [Span(start=s, end=e, label=label, source="bench@1", state="suggested")
                 for s, e, label in raw]
        if nested:
            # A nested span (the first word) in enough multi-word entities that ``nested``
            # of all spans lie inside another.
            rng = random.Random(words)
            hosts = [span for span in spans if text.find(" ", span.start, span.end) > 0]
            count = min(round(nested / (1 - nested) * len(spans)), len(hosts))
            inner = [Span(start=span.start, end=text.find(" ", span.start, span.end),
                          label="GPE", source="bench@1", state="suggested")
                     for span in rng.sample(hosts, count)]
            spans += inner
            entity_counts[-words] = len(inner)  # how many are nested
        store.put_predictions([Prediction(doc_id=doc.id, extractor="bench@1", spans=spans)])
        ids[words] = doc.id
        entity_counts[words] = len(spans)
    return store, ids, entity_counts


def label_key_for(current: str) -> str:
    """The key of an edit label other than ``current``, so the press changes the span."""
    return next(key for key, name in EDIT_LABELS.items() if name != current)


def _key_event(key: str) -> events.Key:
    try:
        char: str | None = unicodedata.lookup(key.upper()) if len(key) > 1 else key
    except KeyError:
        char = None
    return events.Key(key, char if key not in ("right", "tab", "f12") else None)


async def _drain(app: App) -> None:
    """Wait until no message pump has queued messages (twice in a row)."""
    quiet = 0
    while quiet < 2:
        await asyncio.sleep(0)
        nodes = [app, app.screen, *app.screen.walk_children()]
        if any(node._message_queue.qsize() for node in nodes):
            quiet = 0
        else:
            quiet += 1


async def timed_press(app: App, key: str) -> float:
    """Seconds from sending ``key`` until it is handled and the screen is rendered."""
    start = perf_counter()
    app._driver.send_message(_key_event(key))  # type: ignore[union-attr]
    await _drain(app)
    app.screen._on_timer_update()  # render the dirty regions now, not at the next frame
    return perf_counter() - start


async def measure_keys(app: App, presses: int, prepare: Callable[[str], Any]) -> dict:
    """Median seconds per key; ``prepare(name)`` runs unmeasured before each press and
    may return the key to press instead (the label key that changes the entity)."""
    results: dict[str, float] = {}
    samples = [await timed_press(app, UNBOUND) for _ in range(presses)]
    results["unbound"] = statistics.median(samples)
    for name, default_key in KEYS.items():
        samples = []
        for _ in range(presses):
            key = await prepare(name) or default_key
            samples.append(await timed_press(app, key))
        results[name] = statistics.median(samples)
    return results


async def bench_article_view(store: GoldStore, doc_id: str, presses: int) -> dict:
    app = make_app(store, load_model=False, start=doc_id)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()

        async def prepare(name: str) -> str | None:
            screen = app.screen
            assert isinstance(screen, AnnotateScreen)
            if name in ("next entity", "assign label", "end +1 token", "start -1 token"):
                if screen.selection()[0] >= screen.annotation.spans[-1].start:
                    await timed_press(app, "home")  # small articles: start over at the top
            if name == "assign label":
                await timed_press(app, "tab")  # the next entity, then a label it lacks
                return label_key_for(screen.spans_under_cursor()[0].label)
            if name in ("end +1 token", "start -1 token"):
                await timed_press(app, "tab")  # a boundary key moves an entity's edge
            return None

        results = await measure_keys(app, presses, prepare)
    return results


async def bench_edit_then_undo(store: GoldStore, doc_id: str, presses: int) -> float:
    """Median seconds of an undo pressed right after a label edit: the usual rhythm of a
    correction, where undo and redo become available and unavailable in turn (the runs of
    one key above never change that after their first press)."""
    app = make_app(store, load_model=False, start=doc_id)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AnnotateScreen)
        samples = []
        for _ in range(presses):
            if screen.selection()[0] >= screen.annotation.spans[-1].start:
                await timed_press(app, "home")
            await timed_press(app, "tab")
            await timed_press(app, label_key_for(screen.spans_under_cursor()[0].label))
            samples.append(await timed_press(app, "u"))
    return statistics.median(samples)


class NaiveApp(App[None]):
    """The whole article as one Text in a Static, rebuilt on every key."""

    BINDINGS = [Binding("right", "move", ""), Binding("tab", "next_entity", "", priority=True),
                Binding("1", "label('MISC')", ""), Binding("0", "label('OTHER')", ""),
                Binding("u", "undo", ""), Binding("shift+right", "edge(1)", ""),
                Binding("less_than_sign", "edge(-1)", "")]

    def __init__(self, store: GoldStore, doc_id: str) -> None:
        super().__init__()
        self.store = store
        self.doc_id = doc_id
        # The same editing session as the annotator: only the view differs.
        self.session = EditingSession(store)
        self.session.open_id(doc_id)
        self.text = self.session.text
        self.tokens = self.session.tokens
        self.scheme = store.labels
        self.cursor = (0, 0)

    @property
    def annotation(self) -> Annotation:
        return self.session.annotation

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="article")

    def on_mount(self) -> None:
        self.cursor = self.tokens.spans[0]
        self.rebuild()

    def rebuild(self) -> None:
        text = Text(self.text)
        for span in display_spans(self.annotation, self.scheme):
            text.stylize(span.style, span.start, span.end)
        text.stylize(Style(reverse=True), *self.cursor)
        self.query_one("#article", Static).update(text)

    def action_move(self) -> None:
        index = self.tokens.at(self.cursor[1])
        self.cursor = self.tokens.spans[min(index + 1, len(self.tokens) - 1)]
        self.rebuild()

    def action_next_entity(self) -> None:
        spans = self.annotation.spans
        target = next((s for s in spans if s.start >= self.cursor[1]), spans[0] if spans else None)
        if target is not None:
            self.cursor = target.key
        self.rebuild()

    def action_edge(self, step: int) -> None:
        start, end = self.cursor
        if step > 0:
            end = self.tokens.spans[min(self.tokens.at(end - 1) + 1, len(self.tokens) - 1)][1]
        else:
            start = self.tokens.spans[max(self.tokens.at(start) - 1, 0)][0]
        self.cursor = (start, end)
        self.rebuild()

    def action_label(self, name: str) -> None:
        self.session.label(*self.cursor, name)
        self.rebuild()

    def action_undo(self) -> None:
        self.session.undo()
        self.rebuild()


async def bench_naive(store: GoldStore, doc_id: str, presses: int) -> dict:
    app = NaiveApp(store, doc_id)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()

        async def prepare(name: str) -> str | None:
            if name == "assign label":
                await timed_press(app, "tab")
                span = next(s for s in app.annotation.spans if s.key == app.cursor)
                return label_key_for(span.label)
            if name in ("end +1 token", "start -1 token"):
                await timed_press(app, "tab")
            return None

        results = await measure_keys(app, presses, prepare)
    return results


async def bench_open(store: GoldStore, small: str, big: str, repeats: int = 5) -> float:
    """Median seconds to open the big article in a running app and render the first screen."""
    app = make_app(store, load_model=False, start=small)
    samples = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AnnotateScreen)
        big_index = screen.session.doc_ids.index(big)
        small_index = screen.session.doc_ids.index(small)
        for _ in range(repeats):
            start = perf_counter()
            screen.open_document(big_index)
            await _drain(app)
            app.screen._on_timer_update()
            samples.append(perf_counter() - start)
            screen.open_document(small_index)
            await pilot.pause()
    return statistics.median(samples)


def bench_store_save(store: GoldStore, doc_id: str, repeats: int = 50) -> float:
    """Median seconds of one ``save_annotation`` of the seeded annotation (no UI)."""
    annotation, _ = seed_annotation(doc_id, "default", store.predictions(doc_id),
                                    text=store.text(doc_id))
    samples = []
    for _ in range(repeats):
        start = perf_counter()
        store.save_annotation(annotation)
        samples.append(perf_counter() - start)
    store.delete_annotation(doc_id)
    return statistics.median(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--naive-presses", type=int, default=200)
    parser.add_argument("--cpu", action="store_true",
                        help="time keys in CPU seconds of the app's thread, not wall seconds")
    args = parser.parse_args()
    if args.cpu:
        global perf_counter
        perf_counter = time.thread_time
    sizes = [1_000, 10_000, 100_000]
    with tempfile.TemporaryDirectory() as folder:
        store, ids, entities = make_store(Path(folder), sizes)
        try:
            print(f"headless {SIZE[0]}x{SIZE[1]}, {args.presses} presses per key, medians"
                  f" of {'CPU time of the app thread' if args.cpu else 'wall time'}; "
                  "added = median(key) - median(unbound key)")
            view: dict[int, dict[str, float]] = {}
            undo_after: dict[int, float] = {}
            for words in sizes:
                # Each size starts from the predictions again (undo left the edits reverted).
                view[words] = await bench_article_view(store, ids[words], args.presses)
                store.delete_annotation(ids[words])
                undo_after[words] = await bench_edit_then_undo(
                    store, ids[words], max(args.presses // 4, 10))
                store.delete_annotation(ids[words])
            naive = await bench_naive(store, ids[10_000], args.naive_presses)
            store.delete_annotation(ids[10_000])
            opened = await bench_open(store, ids[1_000], ids[100_000])
            saves = {words: bench_store_save(store, ids[words]) for words in sizes}
        finally:
            store.close()
        # The overlapping case: 100,000 words, a fifth of the spans nested in another.
        nested_store, nested_ids, nested_entities = make_store(Path(folder), [100_000],
                                                               nested=0.2)
        try:
            nested_view = await bench_article_view(nested_store, nested_ids[100_000],
                                                   args.presses)
        finally:
            nested_store.close()
    print("\nentities: " + ", ".join(f"{w:,} words: {entities[w]}" for w in sizes))
    header = f"{'key':<14}" + "".join(f"{f'{w:,} words':>22}" for w in sizes)
    print("\nArticleView (ms: median, added over unbound)")
    print(header)
    for name in ["unbound", *KEYS]:
        row = f"{name:<14}"
        for words in sizes:
            result = view[words]
            added = result[name] - result["unbound"]
            row += f"{ms(result[name])} ({ms(added)} add)" if name != "unbound" else \
                f"{ms(result[name]):>22}"
        print(row)
    print("\nNaive Static view, 10,000 words (ms), and ratio naive/ArticleView of added latency")
    for name in ["unbound", *KEYS]:
        added_naive = naive[name] - naive["unbound"]
        added_view = view[10_000][name] - view[10_000]["unbound"]
        line = f"{name:<14}{ms(naive[name])}"
        if name != "unbound":
            ratio_added = added_naive / added_view if added_view > 0 else float("inf")
            ratio_total = naive[name] / view[10_000][name]
            line += (f"  added {ms(added_naive)}   ratio added {ratio_added:6.1f}x"
                     f"   ratio total {ratio_total:5.1f}x")
        print(line)
    share = nested_entities[-100_000] / nested_entities[100_000]
    print(f"\nOverlapping layer, 100,000 words, {nested_entities[100_000]} spans "
          f"({share:.0%} nested in another; ms: median, added over unbound)")
    for name in ["unbound", *KEYS]:
        added = nested_view[name] - nested_view["unbound"]
        print(f"{name:<14}{ms(nested_view[name])}"
              + (f" ({ms(added)} add)" if name != "unbound" else ""))
    print("\nSpread across sizes (max/min of added latency per key)")
    for name in KEYS:
        added = [max(view[w][name] - view[w]["unbound"], 1e-6) for w in sizes]
        print(f"{name:<14}{max(added) / min(added):6.2f}x   "
              + "  ".join(f"{w:,}: {ms(a)}" for w, a in zip(sizes, added, strict=True)))
    print("\nUndo pressed right after a label edit (ms, median, not less the unbound key): "
          + ", ".join(f"{w:,} words: {ms(undo_after[w]).strip()}" for w in sizes))
    print("\nOf an edit, GoldStore.save_annotation alone (validate, journal line, fsync), "
          "median of 50: " + ", ".join(f"{w:,} words: {ms(saves[w]).strip()} ms" for w in sizes))
    print(f"\nopen the 100,000-word article and render: {opened * 1000:.0f} ms (median of 5)")


if __name__ == "__main__":
    asyncio.run(main())
