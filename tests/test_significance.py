"""Paired comparison of two extractors: ΔF1, bootstrap interval, approximate randomization
and Holm, checked against hand computations, scipy and statsmodels."""

from __future__ import annotations

import gc
import random
import re
from pathlib import Path

import numpy as np
import pytest

from annotations.evaluation import EvalDocument, evaluate_extractor
from annotations.significance import (
    approximate_randomization,
    compare_results,
    entity_columns,
    format_p,
    holm,
)

# The shared corpus sits beside the checkout (../shared/corpus); from a worktree under
# wt/, one level further up.
CORPUS = next((root / "shared" / "corpus" for root in Path(__file__).resolve().parents[2:4]
               if (root / "shared" / "corpus").is_dir()),
              Path(__file__).resolve().parents[2] / "shared" / "corpus")


def synthetic(n_docs: int, seed: int) -> list[EvalDocument]:
    rng = random.Random(seed)
    docs = []
    for d in range(n_docs):
        gold = []
        pos = 0
        for _ in range(rng.randint(1, 8)):
            start = pos + rng.randint(2, 6)
            end = start + rng.randint(1, 6)
            gold.append((start, end, rng.choice(["PER", "ORG", "LOC"])))
            pos = end
        docs.append(EvalDocument(doc_id=f"d{d}", text="x" * (pos + 3), gold=gold, pred=gold))
    return docs


def degrade(docs: list[EvalDocument], share: float, seed: int) -> list[EvalDocument]:
    """A copy whose predictions lose ``share`` of their spans."""
    rng = random.Random(seed)
    return [EvalDocument(doc_id=d.doc_id, text=d.text, gold=d.gold,
                         pred=[s for s in d.pred if rng.random() >= share]) for d in docs]


def test_an_extractor_against_itself_differs_by_zero_with_p_one() -> None:
    docs = degrade(synthetic(40, 1), 0.3, 2)
    a = evaluate_extractor("A", docs, bootstrap=0)
    b = evaluate_extractor("B", docs, bootstrap=0)
    comparison = compare_results(a, b, rounds=500, samples=200)
    assert comparison.differing_documents == 0
    stats = [*comparison.entities.values(),
             *(s for by in comparison.by_label.values() for s in by.values())]
    assert len(stats) == 4 + 4 * 3
    for stat in stats:
        assert stat.delta == 0.0
        assert stat.p_value == 1.0 and stat.p == 1.0
        # A zero-width interval is no interval: it must not read as certainty.
        assert stat.ci is None and not stat.testable(comparison.alpha)
    assert comparison.exact and not comparison.testable
    assert comparison.warning() == ("A and B give the same counts on every one of the "
                                    "40 documents: no test can find a difference.")
    sentence = comparison.sentence(comparison.entities["strict"])
    assert sentence == ("Not testable on strict F1: on 0 documents where they differ the "
                        "smallest possible p is 1.0; +0.0 points (B − A), no interval (too "
                        "few documents)")


def article_documents() -> list[EvalDocument]:
    """The real article split into paragraphs; 'gold' = its capitalised word runs."""
    paths = sorted(CORPUS.glob("*.txt"))
    if not paths:
        pytest.skip(f"no shared corpus at {CORPUS}")
    text = paths[0].read_text(encoding="utf-8")
    docs = []
    for i, para in enumerate(p for p in re.split(r"\n\s*\n|(?<=[.!?])\s+", text) if p.strip()):
        gold = [(m.start(), m.end(), "NAME" if len(m.group()) > 5 else "WORD")
                for m in re.finditer(r"[A-Z][\w'-]*(?: [A-Z][\w'-]*)*", para)]
        docs.append(EvalDocument(doc_id=str(i), text=para, gold=gold, pred=gold))
    return docs


def test_a_clearly_worse_copy_is_significantly_worse_on_the_real_article() -> None:
    docs = article_documents()
    good = evaluate_extractor("good", docs, bootstrap=0)
    worse = evaluate_extractor("worse", degrade(docs, 0.4, 3), bootstrap=0)
    comparison = compare_results(worse, good, rounds=2000, samples=500, seed=1)
    strict = comparison.entities["strict"]
    assert strict.delta > 0.1
    assert strict.p_value < 0.01
    assert strict.ci is not None and 0 < strict.ci[0] <= strict.delta <= strict.ci[1]
    assert comparison.sentence(strict).startswith("good is better than worse on strict F1: +")
    # Swapping the roles flips the sign, not the verdict.
    flipped = compare_results(good, worse, rounds=2000, samples=500, seed=1)
    assert flipped.entities["strict"].delta == pytest.approx(-strict.delta)
    assert flipped.sentence(flipped.entities["strict"]).startswith("good is better than worse")


def test_ar_p_value_agrees_with_scipy_permutation_test() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    docs = synthetic(30, 5)
    a_docs, b_docs = degrade(docs, 0.25, 6), degrade(docs, 0.26, 7)
    a = entity_columns(evaluate_extractor("A", a_docs, bootstrap=0).entities.doc_counts)
    b = entity_columns(evaluate_extractor("B", b_docs, bootstrap=0).entities.doc_counts)
    ours = approximate_randomization(a, b, rounds=20_000, seed=3)[0]  # strict

    table = np.vstack([a[:, :2], b[:, :2]])  # strict (hits, total), A rows then B rows

    def delta(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        sx, sy = table[x.astype(int)].sum(axis=-2), table[y.astype(int)].sum(axis=-2)
        return 2 * sy[..., 0] / sy[..., 1] - 2 * sx[..., 0] / sx[..., 1]

    n = len(a)
    theirs = scipy_stats.permutation_test(
        (np.arange(n), np.arange(n) + n), delta, permutation_type="samples", vectorized=True,
        n_resamples=20_000, alternative="two-sided", rng=np.random.default_rng(4)).pvalue
    assert 0.01 < theirs < 0.9  # a difference the test is unsure about: a fair comparison
    error = np.sqrt(theirs * (1 - theirs) * 2 / 20_000)
    assert abs(ours - theirs) < 4 * error + 1e-3


def test_bootstrap_interval_recomputes_corpus_f1_not_mean_of_document_f1() -> None:
    # One big document where B is perfect and A misses half, and many tiny documents where
    # A is perfect and B misses everything: corpus F1 favours B, document means favour A.
    big_gold = [(i * 3, i * 3 + 2, "X") for i in range(100)]
    docs_a = [EvalDocument("big", "x" * 300, big_gold, big_gold[::2])]
    docs_b = [EvalDocument("big", "x" * 300, big_gold, big_gold)]
    for i in range(9):
        docs_a.append(EvalDocument(f"s{i}", "xx", [(0, 1, "X")], [(0, 1, "X")]))
        docs_b.append(EvalDocument(f"s{i}", "xx", [(0, 1, "X")], []))
    a = evaluate_extractor("A", docs_a, bootstrap=0)
    b = evaluate_extractor("B", docs_b, bootstrap=0)
    stat = compare_results(a, b, rounds=100, samples=300).entities["strict"]
    assert stat.f1_a == pytest.approx(2 * 59 / (59 + 109))
    assert stat.f1_b == pytest.approx(2 * 100 / (100 + 109))
    assert stat.delta > 0


def test_holm_adjusts_as_the_textbook_says() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_holm_matches_statsmodels(monkeypatch: pytest.MonkeyPatch) -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    # Its Holm branch runs gc.collect() on every call: a full collection of the test
    # process's heap each time, seconds in all, and no part of the figures it returns.
    monkeypatch.setattr(gc, "collect", lambda *args: 0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=int(rng.integers(1, 12)))
        expected = multitest.multipletests(p, method="holm")[1]
        assert holm(list(p)) == pytest.approx(list(expected))


def test_per_label_p_values_are_holm_adjusted() -> None:
    docs = synthetic(60, 9)
    a = evaluate_extractor("A", degrade(docs, 0.5, 10), bootstrap=0)
    b = evaluate_extractor("B", docs, bootstrap=0)
    comparison = compare_results(a, b, rounds=1000, samples=100)
    by = comparison.by_label["strict"]
    raw = [by[label].p_value for label in sorted(by)]
    assert [by[label].p_adjusted for label in sorted(by)] == pytest.approx(holm(raw))
    assert "(Holm-adjusted)" in comparison.sentence(by["PER"])
    json = comparison.to_json()
    assert json["entities"]["by_label"]["PER"]["strict"]["p_holm"] == by["PER"].p_adjusted


def test_p_values_are_formatted_for_people() -> None:
    assert format_p(0.0031) == "p = 0.003"
    assert format_p(0.41) == "p = 0.41"
    assert format_p(0.049) == "p = 0.049"
    assert format_p(0.0001) == "p < 0.001"
