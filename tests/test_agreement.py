"""Agreement measures checked against independent computations: nervaluate (pairwise F1),
scikit-learn (Cohen's κ), statsmodels (Fleiss' κ), brute force (overlap matching,
tokenisation), and the span groups the adjudication screen reads."""

from __future__ import annotations

import math
import re
from itertools import permutations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nervaluate import Evaluator

from annotations.agreement import (
    AgreementStudy,
    Layer,
    align_relations,
    align_spans,
    cohen_kappa,
    compute_agreement,
    fleiss_kappa,
    token_table,
    unitizing_alpha,
)

LABELS = ["PER", "ORG", "LOC"]
TEXT = ("Maria Keller met engineers from Aster Rail in Geneva.\n"
        "Talks ended  without a deal, Keller said on Monday; émigrés 🎉 watched.")


def _flat(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for s in sorted(spans):
        if not kept or s[0] >= kept[-1][1]:
            kept.append(s)
    return kept


span = st.tuples(st.integers(0, len(TEXT) - 2), st.integers(1, 12), st.sampled_from(LABELS)
                 ).map(lambda t: (t[0], min(len(TEXT), t[0] + t[1]), t[2]))
layer = st.lists(span, max_size=10).map(_flat)


@st.composite
def near(draw: st.DrawFn, base: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Another annotator's version of ``base``: most kept, some relabelled or shifted."""
    out = []
    for s, e, label in base:
        roll = draw(st.integers(0, 5))
        if roll == 0:
            continue
        if roll == 1:
            label = draw(st.sampled_from(LABELS))
        elif roll == 2:
            s = min(len(TEXT) - 1, max(0, s + draw(st.integers(-2, 2))))
            e = min(len(TEXT), max(s + 1, e + draw(st.integers(-2, 2))))
        out.append((s, e, label))
    return _flat(out + draw(layer))


@st.composite
def two_annotators(draw: st.DrawFn) -> tuple[list, list]:
    docs_a, docs_b = [], []
    for _ in range(draw(st.integers(1, 4))):
        a = draw(layer)
        docs_a.append(a)
        docs_b.append(draw(near(a)))
    return docs_a, docs_b


def _study(*annotators: list) -> AgreementStudy:
    n_docs = len(annotators[0])
    texts = {f"d{i}": TEXT for i in range(n_docs)}
    return AgreementStudy(texts=texts, layers={
        name: {f"d{i}": Layer(tuple(spans)) for i, spans in enumerate(docs)}
        for name, docs in zip("abcdef", annotators, strict=False)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_annotators())
def test_exact_pairwise_f1_equals_nervaluate_strict_f1(docs):
    docs_a, docs_b = docs
    result = compute_agreement(_study(docs_a, docs_b), bootstrap=0)
    pair = result.pairs[0]
    true = [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in d] for d in docs_a]
    pred = [[{"label": lab, "start": s, "end": e - 1} for s, e, lab in d] for d in docs_b]
    if not any(true) and not any(pred):
        assert pair.spans("exact")["f1"] is None
        return
    reference = Evaluator(true, pred, tags=LABELS, loader="dict").evaluate()
    assert pair.spans("exact")["f1"] == pytest.approx(reference["overall"]["strict"].f1)
    for label, by_scheme in reference["entities"].items():
        mine = pair.by_label("exact").get(label)
        strict = by_scheme["strict"]
        if mine is None:
            assert strict.possible == strict.actual == 0
        else:
            assert mine["f1"] == pytest.approx(strict.f1)


def _max_overlap_matching(a: list, b: list) -> int:
    """Brute force: the largest one-to-one matching of same-label overlapping spans."""
    best = 0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    for chosen in permutations(range(len(large)), len(small)):
        best = max(best, sum(1 for i, j in enumerate(chosen)
                             if small[i][2] == large[j][2]
                             and small[i][0] < large[j][1] and large[j][0] < small[i][1]))
    return best


@settings(max_examples=50, deadline=None)
@given(st.lists(span, max_size=5).map(_flat), st.lists(span, max_size=5).map(_flat))
def test_overlap_mode_finds_the_largest_matching(a, b):
    pair = compute_agreement(_study([a], [b]), bootstrap=0).pairs[0]
    assert pair.spans("overlap")["agreed"] == _max_overlap_matching(a, b)


def _naive_tags(text: str, layers: list[list[tuple[int, int, str]]]) -> list[list[str]]:
    """The stated tokenisation, written the slow way: \\S+ tokens cut at span boundaries."""
    cuts = sorted({p for spans in layers for s, e, _ in spans for p in (s, e)})
    tokens = []
    for m in re.finditer(r"\S+", text):
        points = [m.start()] + [c for c in cuts if m.start() < c < m.end()] + [m.end()]
        tokens += list(zip(points, points[1:], strict=False))
    tags = []
    for spans in layers:
        tags.append([next((label for s, e, label in spans if s <= ts and te <= e), "O")
                     for ts, te in tokens])
    return tags


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_annotators())
def test_tokens_follow_the_stated_tokenisation(docs):
    docs_a, docs_b = docs
    table = token_table([TEXT] * len(docs_a), [docs_a, docs_b], LABELS)
    expected_a, expected_b = [], []
    for a, b in zip(docs_a, docs_b, strict=True):
        tags_a, tags_b = _naive_tags(TEXT, [a, b])
        expected_a += tags_a
        expected_b += tags_b
    assert table.expand(0) == expected_a
    assert table.expand(1) == expected_b


def test_tokens_of_plain_ascii_text_follow_the_stated_tokenisation():
    text = "Keller (Aster Rail) said:\tno deal.\n\nGeneva, Monday"
    a = [(0, 6, "PER"), (8, 18, "ORG"), (36, 42, "LOC")]
    b = [(8, 13, "ORG"), (37, 40, "LOC"), (44, 50, "LOC")]
    table = token_table([text, text], [[a, a], [b, None]], LABELS)
    tags_a, tags_b = _naive_tags(text, [a, b])
    (alone,) = _naive_tags(text, [a])  # b skipped the second document: only a's cuts
    assert table.expand(0) == tags_a + alone
    assert table.expand(1) == tags_b + [None] * len(alone)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_annotators())
def test_cohen_kappa_equals_scikit_learn(docs):
    from sklearn.metrics import cohen_kappa_score  # here: slow to import, one test uses it

    docs_a, docs_b = docs
    table = token_table([TEXT] * len(docs_a), [docs_a, docs_b], LABELS)
    tags_a, tags_b = table.expand(0), table.expand(1)
    mine = cohen_kappa(table, 0, 1)
    assert mine.tokens == len(tags_a)
    if len(set(tags_a) | set(tags_b)) == 1:
        assert math.isnan(mine.value)  # one tag everywhere: κ is undefined
    else:
        assert mine.value == pytest.approx(cohen_kappa_score(tags_a, tags_b))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_annotators(), st.data())
def test_fleiss_kappa_equals_statsmodels(docs, data):
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    docs_a, docs_b = docs
    docs_c = [data.draw(near(a)) for a in docs_a]
    table = token_table([TEXT] * len(docs_a), [docs_a, docs_b, docs_c], LABELS)
    rows = list(zip(table.expand(0), table.expand(1), table.expand(2), strict=True))
    mine = fleiss_kappa(table)
    codes = {tag: i for i, tag in enumerate(sorted({t for row in rows for t in row}))}
    counts, _ = aggregate_raters([[codes[t] for t in row] for row in rows])
    if len(codes) == 1:
        assert math.isnan(mine.value)
    else:
        assert mine.value == pytest.approx(statsmodels_fleiss(counts, method="fleiss"))


def test_documents_one_annotator_skipped_do_not_count_for_the_pair():
    a = [[(0, 5, "PER")], [(0, 5, "PER")]]
    study = AgreementStudy(
        texts={"d0": TEXT, "d1": TEXT},
        layers={"a": {"d0": Layer(tuple(a[0])), "d1": Layer(tuple(a[1]))},
                "b": {"d0": Layer(((0, 5, "PER"),))}})
    result = compute_agreement(study, bootstrap=0, min_shared=2)
    pair = result.pairs[0]
    assert pair.doc_ids == ["d0"]
    assert pair.spans("exact")["f1"] == 1.0
    assert pair.kappa.value == 1.0
    assert [d["kind"] for d in result.diagnostics] == ["few_shared_documents"]


def test_bootstrap_interval_is_seeded_and_brackets_the_figure():
    docs_a = [[(0, 5, "PER"), (17, 26, "ORG")], [(32, 42, "ORG")], [(46, 52, "LOC")]] * 5
    docs_b = [[(0, 5, "PER"), (17, 26, "LOC")], [(32, 42, "ORG")], []] * 5
    first = compute_agreement(_study(docs_a, docs_b), bootstrap=200, seed=3)
    again = compute_agreement(_study(docs_a, docs_b), bootstrap=200, seed=3)
    low, high = first.pairs[0].intervals["exact"]
    assert first.pairs[0].intervals == again.pairs[0].intervals
    assert low <= first.pairs[0].spans("exact")["f1"] <= high
    assert low < high


def test_relations_strict_boundaries_and_restricted():
    per, org, org_as_loc = (0, 12, "PER"), (32, 42, "ORG"), (32, 42, "LOC")
    study = AgreementStudy(texts={"d": TEXT}, layers={
        "a": {"d": Layer((per, org), (((0, 12), (32, 42), "works_for"),))},
        "b": {"d": Layer((per, org_as_loc), (((0, 12), (32, 42), "works_for"),))},
    })
    pair = compute_agreement(study, bootstrap=0).pairs[0]
    assert pair.relations("strict")["f1"] == 0.0  # the child's label differs
    assert pair.relations("boundaries")["f1"] == 1.0
    # Restricted to relations between spans both marked: the ORG/LOC span is not one.
    assert pair.relations("restricted")["f1"] is None


def test_diagnostics_name_the_silent_annotator_and_the_unused_label():
    docs_a = [[(0, 5, "PER"), (46, 52, "LOC")]] * 12
    docs_b = [[(0, 5, "PER")]] * 12
    docs_c = [[]] * 12
    result = compute_agreement(_study(docs_a, docs_b, docs_c), bootstrap=0)
    found = {(d["kind"], tuple(d["annotators"]), d.get("label")) for d in result.diagnostics}
    assert ("nothing_marked", ("c",), None) in found
    assert ("label_never_used", ("b",), "LOC") in found
    top = result.to_json()["disagreements"][0]
    assert top == {"text": "Geneva", "label": "LOC", "other": "(not marked)", "count": 24}


def test_alpha_u_is_perfect_for_identical_annotators_and_lower_otherwise():
    docs = [[(0, 5, "PER"), (32, 42, "ORG")], [(46, 52, "LOC")]]
    same = compute_agreement(_study(docs, docs), bootstrap=0)
    assert same.alpha is not None and same.alpha.alpha == 1.0
    other = compute_agreement(_study(docs, [[(0, 12, "PER")], [(46, 52, "LOC")]]), bootstrap=0)
    assert other.alpha is not None and other.alpha.alpha < 1.0
    assert other.alpha_by_label["LOC"].alpha == 1.0


def test_align_spans_groups_versions_with_who_marked_them():
    groups = align_spans({
        "a": [(0, 5, "PER"), (17, 26, "ORG"), (46, 52, "LOC")],
        "b": [(0, 5, "PER"), (17, 22, "ORG"), (23, 26, "ORG")],
        "c": [(0, 5, "PER"), (17, 26, "LOC")],
    })
    assert [(g.start, g.end) for g in groups] == [(0, 5), (17, 26), (46, 52)]
    assert groups[0].agreed and groups[0].share() == 1.0
    middle = groups[1]
    assert not middle.agreed
    assert middle.by_annotator["b"] == ((17, 22, "ORG"), (23, 26, "ORG"))
    assert {v.annotators for v in middle.versions} == {("a",), ("b",), ("c",)}
    last = groups[2]
    assert [(v.spans, v.annotators) for v in last.versions] == [
        ((), ("b", "c")), (((46, 52, "LOC"),), ("a",))]
    assert last.share() == pytest.approx(1 / 3)


def test_align_relations_says_who_drew_which_label_between_two_spans():
    works, based = ((0, 5), (17, 26), "works_for"), ((17, 26), (46, 52), "based_in")
    relations = align_relations({"a": [works, based], "b": [works], "c": []})
    assert [(r.head, r.child) for r in relations] == [((0, 5), (17, 26)), ((17, 26), (46, 52))]
    assert relations[0].by_annotator == {"a": ("works_for",), "b": ("works_for",), "c": ()}
    assert not relations[0].agreed
    assert align_relations({"a": [works], "b": [works]})[0].agreed


def test_alpha_u_lays_the_documents_all_share_end_to_end():
    short = "Bern is small."
    study = AgreementStudy(
        texts={"d0": TEXT, "d1": short, "d2": TEXT},
        layers={"a": {"d0": Layer(((0, 5, "PER"), (46, 52, "LOC"))),
                      "d1": Layer(((0, 4, "LOC"),)), "d2": Layer(((0, 12, "PER"),))},
                "b": {"d0": Layer(((0, 12, "PER"),)), "d1": Layer(((0, 4, "PER"),))}})
    result = compute_agreement(study, bootstrap=0)
    base = len(TEXT)  # d2 is not shared by both, so d1 follows d0 directly
    expected, by_label = unitizing_alpha(
        [{"PER": [(0, 5)], "LOC": [(46, 52), (base, base + 4)]},
         {"PER": [(0, 12), (base, base + 4)]}], len(TEXT) + len(short))
    assert result.alpha_length == len(TEXT) + len(short)
    assert result.alpha is not None
    assert result.alpha.alpha == pytest.approx(expected.alpha)
    assert {k: v.alpha for k, v in result.alpha_by_label.items()} == pytest.approx(
        {k: v.alpha for k, v in by_label.items()})
