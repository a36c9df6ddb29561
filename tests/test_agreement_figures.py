"""Agreement figures that equal their references (issue 19, items 5-8): a pair's κ on
its own tokens, symmetric relation labels, overlapping layers, readable tables."""

from __future__ import annotations

import re

import pytest

from annotations.agreement import AgreementStudy, Layer, compute_agreement

TEXT = "EpoR. binds Jak2. It also binds Stat5 in cells."


def at(word: str) -> tuple[int, int, str]:
    start = TEXT.index(word)
    return (start, start + len(word), "PROT")


MINIMAL = {
    "alice": [at("EpoR"), at("Jak2"), at("Stat5")],
    "bob": [at("Jak2."), at("Stat5")],
    "carol": [at("EpoR."), at("Jak2")],
}


def study(names: list[str], layers: dict[str, list[tuple[int, int, str]]] = MINIMAL,
          relations: dict[str, list] | None = None, text: str = TEXT) -> AgreementStudy:
    rels = relations or {}
    return AgreementStudy(texts={"d": text}, layers={
        name: {"d": Layer(tuple(sorted(layers[name])), tuple(rels.get(name, ())))}
        for name in names})


def pair_tags(text: str, a: list[tuple[int, int, str]], b: list[tuple[int, int, str]]
              ) -> tuple[list[str], list[str]]:
    """The pair's own tokens, brute force: \\S+ cut at the two annotators' span edges."""
    cuts = {e for s in a + b for e in s[:2]}
    tokens = []
    for match in re.finditer(r"\S+", text):
        edges = sorted({match.start(), match.end(), *(c for c in cuts
                                                      if match.start() < c < match.end())})
        tokens += list(zip(edges, edges[1:], strict=False))

    def tag(layer: list[tuple[int, int, str]], start: int) -> str:
        return next((label for s, e, label in layer if s <= start < e), "O")

    return [tag(a, s) for s, _ in tokens], [tag(b, s) for s, _ in tokens]


def kappa_of(names: list[str], a: str, b: str) -> float:
    result = compute_agreement(study(names), bootstrap=0)
    (pair,) = [p for p in result.pairs if {p.a, p.b} == {a, b}]
    return pair.kappa.value


def test_a_pairs_kappa_is_on_the_pairs_own_tokens_and_equals_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    with_alice = kappa_of(["alice", "bob", "carol"], "bob", "carol")
    alone = kappa_of(["bob", "carol"], "bob", "carol")
    assert with_alice == pytest.approx(alone)
    assert round(alone, 4) == 0.2105
    tags_b, tags_c = pair_tags(TEXT, MINIMAL["bob"], MINIMAL["carol"])
    assert alone == pytest.approx(cohen_kappa_score(tags_b, tags_c))
    for a, b in (("alice", "bob"), ("alice", "carol")):
        tags_a, tags_b = pair_tags(TEXT, MINIMAL[a], MINIMAL[b])
        assert kappa_of(["alice", "bob", "carol"], a, b) == pytest.approx(
            cohen_kappa_score(tags_a, tags_b))


def test_fleiss_kappa_keeps_every_annotators_edges_and_equals_statsmodels():
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    result = compute_agreement(study(["alice", "bob", "carol"]), bootstrap=0)
    everyone = [t for layer in MINIMAL.values() for t in layer]
    cuts = {e for s in everyone for e in s[:2]}
    rows = []
    for match in re.finditer(r"\S+", TEXT):
        edges = sorted({match.start(), match.end(),
                        *(c for c in cuts if match.start() < c < match.end())})
        for start, _ in zip(edges, edges[1:], strict=False):
            rows.append([next((1 for s, e, _ in MINIMAL[n] if s <= start < e), 0)
                         for n in ("alice", "bob", "carol")])
    table, _ = aggregate_raters(rows)
    assert result.fleiss is not None
    assert result.fleiss.value == pytest.approx(sm_fleiss(table))
    assert result.fleiss.tokens == len(rows)


def test_symmetric_relation_labels_ignore_direction_in_agreement():
    text = "Anna met Ben in Oslo."
    anna, ben, oslo = (0, 4, "PER"), (9, 12, "PER"), (16, 20, "LOC")
    layers = {"x": [anna, ben, oslo], "y": [anna, ben, oslo]}
    relations = {"x": [(anna[:2], ben[:2], "met"), (anna[:2], oslo[:2], "in")],
                 "y": [(ben[:2], anna[:2], "met"), (oslo[:2], anna[:2], "in")]}
    base = study(["x", "y"], layers, relations, text)
    directed = compute_agreement(base, bootstrap=0).pairs[0]
    assert [directed.relations(m)["agreed"] for m in ("strict", "boundaries", "restricted")
            ] == [0, 0, 0]
    base.symmetric = frozenset({"met"})
    pair = compute_agreement(base, bootstrap=0).pairs[0]
    for mode in ("strict", "boundaries", "restricted"):
        assert (pair.relations(mode)["agreed"], pair.relations(mode)["a"],
                pair.relations(mode)["b"]) == (1, 2, 2)  # "in" keeps its direction


def test_agreement_reads_the_symmetric_flag_from_the_store(tmp_path):
    from annotations.agreement import collect_study
    from annotations.models import Annotation, Document, LabelScheme, Relation, Span
    from annotations.store import GoldStore

    doc = Document.from_text("Anna met Ben in Oslo.")
    scheme = LabelScheme.model_validate({
        "entities": [{"name": "PER"}, {"name": "LOC"}],
        "relations": [{"name": "met", "symmetric": True}]})
    spans = [Span(start=0, end=4, label="PER"), Span(start=9, end=12, label="PER")]
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.set_labels(scheme)
        for name, (head, child) in (("x", ((0, 4), (9, 12))), ("y", ((9, 12), (0, 4)))):
            store.save_annotation(Annotation(doc_id=doc.id, annotator=name, spans=spans,
                                            relations=[Relation(head=head, child=child,
                                                                label="met")],
                                            status="accept"))
        result = compute_agreement(collect_study(store), bootstrap=0)
    assert result.pairs[0].relations("strict")["f1"] == 1.0


@pytest.mark.parametrize("width", [80, 120])
def test_tables_show_every_pair_by_name_and_kappa_with_decimals(width, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from annotations.models import Annotation, Document, Relation, Span
    from annotations.store import GoldStore
    from reader.cli import app
    from reader.commands import common

    monkeypatch.setattr(common.console, "width", width)
    doc = Document.from_text(TEXT, meta={"title": "EpoR signalling"})
    names = {"alice": "alice", "bob": "bob", "carol": "carol.with-a-rather-long-name"}
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(["PROT"])
        store.add_relation_labels(["binds"])
        store.save_annotations([
            Annotation(doc_id=doc.id, annotator=names[n], status="accept",
                       spans=[Span(start=s, end=e, label=label) for s, e, label in spans],
                       relations=[Relation(head=spans[0][:2], child=spans[1][:2],
                                           label="binds")])
            for n, spans in MINIMAL.items()])
    result = CliRunner().invoke(app, ["agreement", "--db", str(tmp_path / "gold.json"),
                                      "--by-label", "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # table rows fit (prose lines are soft-wrapped by the terminal)
    assert [line for line in lines if line.startswith(" ") and len(line) > width] == []
    assert "Cohen's κ" in result.output and "Relation F1" in result.output
    # bob – carol's κ (0.2105) with three decimals, on the row that names the pair
    row = next(i for i, line in enumerate(lines) if line.strip().startswith("bob –"))
    assert "0.211" in lines[row]
    # the pairs table's first column, rows joined: every pair named in full
    header = next(i for i, line in enumerate(lines) if "docs" in line and "pair" in line)
    edge = lines[header].index("docs") - 2
    shown: list[str] = []
    for line in lines[header + 2:]:
        if not line.strip():
            break
        cell = line[:edge].strip()
        if line[edge:edge + 6].strip():  # a new row (its docs count)
            shown.append(cell)
        elif cell:
            shown[-1] += cell  # the name folded onto the next line
    joined = [" ".join(c.split()) for c in shown]
    expected = [f"{names[a]} – {names[b]}" for a, b in
                (("alice", "bob"), ("alice", "carol"), ("bob", "carol"))]
    assert [j.replace(" ", "") for j in joined] == [e.replace(" ", "") for e in expected]


NESTED_TEXT = "The University of Oslo hospital in Oslo treats patients."


def nested_span(words: str, label: str, text: str = NESTED_TEXT) -> tuple[int, int, str]:
    start = text.index(words)
    return (start, start + len(words), label)


def test_overlapping_layers_get_pairwise_f1_and_relations_and_skip_token_measures():
    univ = nested_span("University of Oslo", "ORG")
    hosp = nested_span("University of Oslo hospital", "FAC")
    city = (NESTED_TEXT.rindex("Oslo"), NESTED_TEXT.rindex("Oslo") + 4, "GPE")
    inner = (NESTED_TEXT.index("Oslo"), NESTED_TEXT.index("Oslo") + 4, "GPE")
    layers = {"x": [univ, hosp, inner, city], "y": [hosp, univ, city], "z": [hosp, city]}
    relations = {"x": [(hosp, city, "located_in")], "y": [(hosp, city, "located_in")]}
    base = AgreementStudy(
        texts={"d": NESTED_TEXT}, titles={"d": "Oslo hospitals"},
        layers={n: {"d": Layer(tuple(sorted(layers[n])), tuple(relations.get(n, ())))}
                for n in layers})
    result = compute_agreement(base, bootstrap=0)
    pairs = {(p.a, p.b): p for p in result.pairs}
    xy = pairs[("x", "y")]
    assert (xy.spans("exact")["agreed"], xy.spans("exact")["a"], xy.spans("exact")["b"]) == (
        3, 4, 3)
    assert xy.spans("overlap")["agreed"] == 3 and xy.spans("unlabelled")["agreed"] == 3
    assert xy.relations("strict")["f1"] == 1.0
    assert result.fleiss is None and result.alpha is None
    assert [d["message"] for d in result.diagnostics if d["kind"] == "overlapping_layer"] == [
        "x's spans overlap or nest in 'Oslo hospitals': token κ and α_U need flat layers, "
        "so Fleiss' κ, α_U and Cohen's κ of every pair with x are left out (span and "
        "relation F1 are computed)",
        "y's spans overlap or nest in 'Oslo hospitals': token κ and α_U need flat layers, "
        "so Fleiss' κ, α_U and Cohen's κ of every pair with y are left out (span and "
        "relation F1 are computed)"]
    assert xy.to_json()["cohen_kappa"]["kappa"] is None


def test_overlap_matching_on_nested_layers_is_maximum_as_scipy_finds():
    import random

    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    rng = random.Random(7)
    text = "x" * 60
    for _ in range(60):
        def layer() -> list[tuple[int, int, str]]:
            out = set()
            for _ in range(rng.randint(0, 8)):
                s = rng.randint(0, 55)
                out.add((s, rng.randint(s + 1, min(60, s + 12)), rng.choice("AB")))
            return sorted(out)

        a, b = layer(), layer()
        result = compute_agreement(AgreementStudy(
            texts={"d": text}, layers={"a": {"d": Layer(tuple(a))}, "b": {"d": Layer(tuple(b))}}),
            bootstrap=0)
        pair = result.pairs[0]
        graph = np.array([[int(x[2] == y[2] and x[0] < y[1] and y[0] < x[1]) for y in b]
                          for x in a]).reshape(len(a), len(b))
        expected = (int((maximum_bipartite_matching(csr_matrix(graph), perm_type="column")
                         >= 0).sum()) if a and b else 0)
        assert pair.spans("overlap")["agreed"] == expected
        assert pair.spans("exact")["agreed"] == len(set(a) & set(b))


def test_reader_agreement_on_an_overlapping_store_names_the_annotator_and_title(tmp_path):
    from typer.testing import CliRunner

    from annotations.models import Annotation, Document, LabelScheme, Span
    from annotations.store import GoldStore
    from reader.cli import app

    doc = Document.from_text(NESTED_TEXT, meta={"title": "Oslo hospitals"})
    univ = nested_span("University of Oslo", "ORG")
    hosp = nested_span("University of Oslo hospital", "FAC")
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.set_labels(LabelScheme.model_validate({
            "entities": [{"name": "ORG"}, {"name": "FAC"}], "overlapping": True}))
        store.save_annotations([
            Annotation(doc_id=doc.id, annotator=name, status="accept",
                       spans=[Span(start=s, end=e, label=label) for s, e, label in spans])
            for name, spans in (("x", [univ, hosp]), ("y", [hosp]))])
    result = CliRunner().invoke(app, ["agreement", "--db", str(tmp_path / "gold.json"),
                                      "--bootstrap", "0", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert data["pairs"][0]["spans"]["exact"]["micro"]["agreed"] == 1
    assert data["fleiss_kappa"] is None and data["alpha_u"] is None
    (line,) = [d for d in data["diagnostics"] if d["kind"] == "overlapping_layer"]
    assert line["annotators"] == ["x"] and line["document"] == "Oslo hospitals"


def test_one_shared_document_gets_no_interval_rather_than_a_point():
    result = compute_agreement(study(["bob", "carol"]), bootstrap=50)
    micro = result.pairs[0].to_json()["spans"]["overlap"]["micro"]
    assert micro["f1"] == 0.5 and micro["f1_ci"] is None
    two = AgreementStudy(texts={"d": TEXT, "e": TEXT + " More."}, layers={
        name: {d: Layer(tuple(sorted(MINIMAL[name]))) for d in ("d", "e")}
        for name in ("bob", "carol")})
    assert compute_agreement(two, bootstrap=50).pairs[0].to_json()["spans"]["overlap"][
        "micro"]["f1_ci"] is not None
