"""Span index lookups on a 100,000-word article: a flat layer with this index against the
index before overlapping layers (git ``afd9c76``, loaded from git here), and an
overlapping layer (20 % of its spans nested in another) with ``all_at``.

Spans are synthetic (one every ~8 words, 2 to 30 characters); each figure is the median
of several runs of 10,000 lookups (``at``/``all_at``, ``get``, ``overlapping``) or 500
edits (``replace`` of one span).

    python benchmarks/span_index.py
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

from annotations.layer import SpanIndex
from annotations.models import Span

BASELINE = "afd9c76"
WORDS = 100_000
RUNS = 7


def _baseline_index() -> type:
    source = subprocess.run(["git", "show", f"{BASELINE}:annotations/layer.py"],
                            capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1]).stdout
    module = types.ModuleType("baseline_layer")
    module.__dict__["__name__"] = "baseline_layer"
    sys.modules["baseline_layer"] = module
    exec(compile(source, "baseline_layer.py", "exec"), module.__dict__)  # noqa: S102
    return module.SpanIndex  # type: ignore[no-any-return]


def _spans(rng: random.Random, nested: float) -> tuple[list[Span], int]:
    length = WORDS * 6
    spans, offset = [], 0
    while offset < length - 40:
        width = rng.randint(2, 30)
        spans.append(Span(start=offset, end=offset + width, label=rng.choice("ABCD")))
        if nested and rng.random() < nested:
            inner = rng.randint(offset, offset + width - 1)
            spans.append(Span(start=inner, end=rng.randint(inner + 1, offset + width),
                              label="E"))
        offset += width + rng.randint(1, 90)
    return spans, length


def _median(work, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _measure(index_type: type, spans: list[Span], length: int, overlapping: bool
             ) -> dict[str, float]:
    rng = random.Random(7)
    kwargs = {"overlapping": True} if overlapping else {}
    index = index_type(spans, **kwargs)
    offsets = [rng.randrange(length) for _ in range(10_000)]
    keys = [(s.start, s.end) for s in rng.sample(spans, 2_000)] * 5
    at = index.all_at if overlapping else index.at
    figures = {
        "at (10k)": _median(lambda: [at(o) for o in offsets]),
        "get (10k)": _median(lambda: [index.get(k) for k in keys]),
        "overlapping (10k)": _median(lambda: [index.overlapping(o, o + 40) for o in offsets]),
    }
    edits = rng.sample(spans, 500)

    def replace() -> None:
        for span in edits:
            moved = span.model_copy(update={"label": "Z"})
            index.replace([span], [moved])
            index.replace([moved], [span])

    figures["replace (500 x 2)"] = _median(replace)
    return figures


def main() -> None:
    flat, length = _spans(random.Random(1), 0.0)
    nested, _ = _spans(random.Random(1), 0.25)
    share = 1 - len(flat) / len(nested)
    old = _measure(_baseline_index(), flat, length, False)
    new = _measure(SpanIndex, flat, length, False)
    over = _measure(SpanIndex, nested, length, True)
    print(f"{WORDS:,} words; flat layer {len(flat):,} spans; overlapping layer "
          f"{len(nested):,} spans ({share:.0%} nested); median of {RUNS} runs, ms")
    print(f"{'operation':<20}{'baseline flat':>14}{'flat':>10}{'ratio':>8}{'overlapping':>13}")
    for name in old:
        print(f"{name:<20}{old[name] * 1e3:>14.2f}{new[name] * 1e3:>10.2f}"
              f"{new[name] / old[name]:>8.2f}{over[name] * 1e3:>13.2f}")


if __name__ == "__main__":
    main()
