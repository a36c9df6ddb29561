"""Figures that cannot mislead: a comparison on too few differing documents says so first,
its p is exact when the swaps are few (checked against scipy and an exhaustive
reference), a degenerate interval is no interval, ΔF1 has one direction in every
output, ungrounded strings are false positives unless the user says otherwise, and the
HTML report shows control and bidi characters as visible placeholders."""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from annotations.evaluation import (
    NO_INTERVAL,
    EvalDocument,
    Evaluation,
    evaluate_extractor,
    run_evaluation,
    score_relations,
    ungrounded_of,
)
from annotations.models import Annotation, Document, Prediction, Span
from annotations.report import render_report
from annotations.significance import (
    compare_results,
    entity_columns,
    exact_permutation,
    paired_permutation,
    smallest_p,
)
from annotations.store import GoldStore
from reader.cli import app
from reader.commands import common

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.console, "width", 200)


def synthetic(n_docs: int, seed: int, share: float) -> tuple[list[EvalDocument],
                                                              list[EvalDocument]]:
    """Gold with random spans; A drops ``share`` of them, B drops a little less."""
    rng = random.Random(seed)
    a_docs, b_docs = [], []
    for d in range(n_docs):
        gold, pos = [], 0
        for _ in range(rng.randint(2, 7)):
            start = pos + rng.randint(2, 5)
            end = start + rng.randint(1, 5)
            gold.append((start, end, rng.choice(["PER", "ORG"])))
            pos = end
        text = "x" * (pos + 2)
        a_docs.append(EvalDocument(f"d{d}", text, gold,
                                   [s for s in gold if rng.random() >= share]))
        b_docs.append(EvalDocument(f"d{d}", text, gold,
                                   [s for s in gold if rng.random() >= share * 0.6]))
    return a_docs, b_docs


def strict_columns(docs: list[EvalDocument]) -> np.ndarray:
    return entity_columns(evaluate_extractor("x", docs, bootstrap=0).entities.doc_counts)


# -- the exact paired permutation test ------------------------------------------------


def test_exact_p_equals_an_exhaustive_reference_and_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    a_docs, b_docs = synthetic(9, 3, 0.4)
    a, b = strict_columns(a_docs), strict_columns(b_docs)
    ours, exact = paired_permutation(a, b, rounds=10_000)
    assert exact  # 2**9 = 512 swaps <= 10,000 rounds: all of them are tried

    # Exhaustive reference, written from the definition: every document swapped or not.
    def f1(rows: np.ndarray) -> float:
        hits, total = rows[:, 0].sum(), rows[:, 1].sum()
        return 2 * hits / total if total else 0.0

    observed = abs(f1(b[:, :2]) - f1(a[:, :2]))
    reached = 0
    for swaps in itertools.product((False, True), repeat=len(a)):
        mask = np.array(swaps)
        a2 = np.where(mask[:, None], b[:, :2], a[:, :2])
        b2 = np.where(mask[:, None], a[:, :2], b[:, :2])
        reached += abs(f1(b2) - f1(a2)) >= observed - 1e-9
    assert ours[0] == pytest.approx(reached / 2 ** len(a))

    table = np.vstack([a[:, :2], b[:, :2]])
    n = len(a)

    def delta(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        sx, sy = table[x.astype(int)].sum(axis=-2), table[y.astype(int)].sum(axis=-2)
        return 2 * sy[..., 0] / sy[..., 1] - 2 * sx[..., 0] / sx[..., 1]

    theirs = scipy_stats.permutation_test(
        (np.arange(n), np.arange(n) + n), delta, permutation_type="samples",
        vectorized=True, n_resamples=np.inf, alternative="two-sided").pvalue
    assert ours[0] == pytest.approx(theirs)
    assert 0.0 < ours[0] < 1.0


def test_many_differing_documents_use_approximate_randomization() -> None:
    a_docs, b_docs = synthetic(40, 5, 0.4)
    a, b = strict_columns(a_docs), strict_columns(b_docs)
    _, exact = paired_permutation(a, b, rounds=1000)
    assert not exact  # 2**d is far above 1,000 rounds


def test_the_smallest_possible_p_is_two_over_two_to_the_d() -> None:
    assert [smallest_p(d) for d in (0, 1, 2, 5, 6)] == [1.0, 1.0, 0.5, 0.0625, 0.03125]
    # B better than A by the same margin on each of d documents: the exact p is that floor.
    for d in (1, 4, 6):
        gold = [(0, 1, "X"), (2, 3, "X")]
        a = strict_columns([EvalDocument(f"d{i}", "xxxx", gold, gold[:1]) for i in range(d)])
        b = strict_columns([EvalDocument(f"d{i}", "xxxx", gold, gold) for i in range(d)])
        assert exact_permutation(a, b)[0] == pytest.approx(smallest_p(d))


def one_sided(d: int, n_same: int = 0) -> tuple[list[EvalDocument], list[EvalDocument]]:
    """B finds both gold spans on ``d`` documents where A finds one; ``n_same`` more
    documents where both are perfect."""
    gold = [(0, 1, "X"), (2, 3, "X")]
    a = [EvalDocument(f"d{i}", "xxxx", gold, gold[:1] if i < d else gold)
         for i in range(d + n_same)]
    b = [EvalDocument(f"d{i}", "xxxx", gold, gold) for i in range(d + n_same)]
    return a, b


def test_too_few_differing_documents_are_said_first_and_never_called_no_difference() -> None:
    a_docs, b_docs = one_sided(1)
    comparison = compare_results(evaluate_extractor("A", a_docs, bootstrap=0),
                                 evaluate_extractor("B", b_docs, bootstrap=0),
                                 rounds=10_000, samples=500)
    assert comparison.exact and not comparison.testable
    assert comparison.warning().startswith(
        "On 1 document where they differ, no test can find a difference: the smallest "
        "possible p is 1.0")
    strict = comparison.entities["strict"]
    sentence = comparison.sentence(strict)
    assert "No significant difference" not in sentence
    # One document: every resample is the same; a point would read as certainty.
    assert strict.ci is None and NO_INTERVAL in sentence and "CI" not in sentence
    assert sentence == ("Not testable on strict F1: on 1 document where they differ the "
                        "smallest possible p is 1.0; +33.3 points (B − A), no interval (too "
                        "few documents)")
    data = comparison.to_json()
    assert data["testable"] is False and data["warning"] == comparison.warning()
    assert data["entities"]["micro"]["strict"]["delta_ci"] is None
    assert data["entities"]["micro"]["strict"]["interval"] == NO_INTERVAL


def test_enough_differing_documents_give_a_verdict_with_an_interval() -> None:
    a_docs, b_docs = one_sided(7, n_same=5)
    comparison = compare_results(evaluate_extractor("A", a_docs, bootstrap=0),
                                 evaluate_extractor("B", b_docs, bootstrap=0),
                                 rounds=10_000, samples=500)
    assert comparison.testable and comparison.warning() is None
    strict = comparison.entities["strict"]
    assert strict.p_value == pytest.approx(2 / 2 ** 7)
    assert strict.ci is not None and strict.ci[0] < strict.ci[1]
    assert comparison.sentence(strict).startswith("B is better than A on strict F1: +")


# -- one direction in every output ------------------------------------------------------


def _store_with_two_extractors(path: Path, n_docs: int) -> None:
    rng = random.Random(1)
    docs, anns, preds = [], [], []
    for i in range(n_docs):
        text = f"Ann met Bob and Cy in Rome on day {i}."
        doc = Document.from_text(text)
        gold = [Span(start=0, end=3, label="PER"), Span(start=8, end=11, label="PER"),
                Span(start=16, end=18, label="PER"), Span(start=22, end=26, label="LOC")]
        docs.append(doc)
        anns.append(Annotation(doc_id=doc.id, spans=gold, status="accept"))
        preds.append(Prediction(doc_id=doc.id, extractor="a@1",
                                spans=[s for s in gold if rng.random() < 0.3]))
        preds.append(Prediction(doc_id=doc.id, extractor="b@1", spans=gold[:3]))
    with GoldStore(path) as store:
        store.add_documents(docs)
        store.add_entity_labels(["PER", "LOC"])
        store.save_annotations(anns)
        store.put_predictions(preds)


def test_delta_reads_the_same_in_terminal_json_and_html(gold_path: Path,
                                                         tmp_path: Path) -> None:
    _store_with_two_extractors(gold_path, 12)
    args = ["--db", str(gold_path), "-e", "b@1", "-e", "a@1", "--rounds", "500",
            "--bootstrap", "200"]
    terminal = runner.invoke(app, ["compare", *args])
    as_json = runner.invoke(app, ["compare", *args, "--json"])
    html = tmp_path / "r.html"
    report = runner.invoke(app, ["evaluate", *args, "--html", str(html)])
    assert terminal.exit_code == as_json.exit_code == report.exit_code == 0, terminal.output
    data = json.loads(as_json.stdout)
    strict = data["entities"]["micro"]["strict"]
    assert data["a"] == "b@1" and data["b"] == "a@1" and strict["delta"] < 0
    assert data["direction"] == "F1(b) - F1(a)"
    sentence = strict["sentence"]
    # The same sentence, with the signed ΔF1 = F1(a@1) − F1(b@1), everywhere.
    assert f"{100 * strict['delta']:+.1f} points (a@1 − b@1)" in sentence
    assert sentence in " ".join(terminal.output.split())
    assert sentence in " ".join(report.output.split())
    page = html.read_text(encoding="utf-8")
    assert sentence.replace("'", "&#x27;") in page


# -- ungrounded strings ------------------------------------------------------------------


def _canned_answer(text: str) -> dict:
    spec = importlib.util.spec_from_file_location("canned_llm", ROOT / "examples" /
                                                  "canned_llm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.answer({"id": "x", "text": text})


@pytest.fixture
def canned_store(gold_path: Path, tmp_path: Path) -> Path:
    """The example article, gold = the canned LLM's gazetteer names as they are in the
    text, and the canned LLM's answer (strings, one hallucinated) imported as its
    predictions: grounded by the importer, as `reader extract --command` does."""
    text = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
    answer = _canned_answer(text)
    assert {"text": "Ellery Bridge Authority", "label": "ORG"} in answer["spans"]
    gold = []
    for name, label in (("Helena Okafor", "PERSON"), ("Harbour Trust", "ORG"),
                        ("High Court", "ORG"), ("Glasgow", "GPE"), ("Wellington", "GPE")):
        for m in re.finditer(re.escape(name), text):
            gold.append({"start": m.start(), "end": m.end(), "label": label})
    gold_file = tmp_path / "gold.jsonl"
    gold_file.write_text(json.dumps({"text": text, "spans": gold, "answer": "accept"}) + "\n",
                         encoding="utf-8")
    answers = tmp_path / "llm.jsonl"
    answers.write_text(json.dumps({"text": text, "spans": answer["spans"]}) + "\n",
                       encoding="utf-8")
    for command in (["import", str(gold_file), "--as-gold"],
                    ["import", str(answers), "--as-predictions", "--extractor",
                     "canned-llm@1", "--format", "prodigy"]):
        result = runner.invoke(app, [*command, "--db", str(gold_path), "--add-labels"])
        assert result.exit_code == 0, result.output
    return gold_path


def test_a_hallucinated_string_is_a_false_positive_in_every_scheme(canned_store: Path,
                                                                   tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    result = runner.invoke(app, ["evaluate", "--db", str(canned_store), "--json",
                                 "--bootstrap", "0", "--html", str(html), "--top", "50"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ungrounded"]["rule"] == "spurious"
    canned = data["extractors"]["canned-llm@1"]
    listed = {(s["text"], s["label"]) for s in canned["ungrounded"]["strings"]}
    assert ("Ellery Bridge Authority", "ORG") in listed
    assert canned["ungrounded"]["spurious_spans"] == canned["grounding"]["ungrounded"] >= 1
    ignored = runner.invoke(app, ["evaluate", "--db", str(canned_store), "--json",
                                  "--bootstrap", "0", "--ungrounded", "ignore"])
    plain = json.loads(ignored.stdout)["extractors"]["canned-llm@1"]
    assert json.loads(ignored.stdout)["ungrounded"]["rule"] == "ignore"
    assert plain["ungrounded"]["spurious_spans"] == 0
    for scheme in ("strict", "exact", "partial", "type"):
        counted, left_out = canned["entities"]["micro"][scheme], plain["entities"]["micro"][scheme]
        assert counted["spurious"] == left_out["spurious"] + canned["ungrounded"]["spurious_spans"]
        assert counted["precision"] < left_out["precision"]
        org = canned["entities"]["by_label"]["ORG"][scheme]
        assert org["spurious"] == plain["entities"]["by_label"]["ORG"][scheme]["spurious"] + 1
    assert ("Ellery Bridge Authority", "ORG") in {(s["text"], s["label"])
                                                 for s in canned["spurious"]}
    page = html.read_text(encoding="utf-8")
    assert "counted as false positives (spurious) in every scheme" in page
    tables = runner.invoke(app, ["evaluate", "--db", str(canned_store), "--bootstrap", "0",
                                 "--ungrounded", "ignore"])
    assert "Ungrounded strings (ignore): " in " ".join(tables.output.split())


def test_compare_states_the_ungrounded_rule(canned_store: Path, gold_path: Path) -> None:
    with GoldStore(canned_store) as store:
        (doc_id,) = store.document_ids()
        store.put_predictions([Prediction(doc_id=doc_id, extractor="empty@1", spans=[])])
    for rule in ("spurious", "ignore"):
        args = ["compare", "--db", str(canned_store), "-e", "empty@1", "-e", "canned-llm@1",
                "--ungrounded", rule]
        terminal = runner.invoke(app, args)
        assert f"Ungrounded strings ({rule}): " in " ".join(terminal.output.split())
        data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
        assert data["ungrounded"]["rule"] == rule
        counted = data["ungrounded"]["extractors"]["canned-llm@1"]["spurious_spans"]
        assert (counted > 0) == (rule == "spurious")


def test_ungrounded_strings_are_read_from_the_stored_grounding() -> None:
    record = {"meta": {"grounding": {
        "ungrounded": 2, "overlapping": 1, "relations_dropped": 1,
        "examples": [{"text": "Atlantis", "label": "GPE", "reason": "not found"},
                     {"text": "UN", "label": "ORG", "reason": "only where other spans are"}]}}}
    lost = ungrounded_of(record)
    assert lost.strings == (("Atlantis", "GPE"), ("UN", "ORG"))
    assert lost.unlisted == 1 and lost.relations == 1
    for meta in (None, {}, {"grounding": "bad"}, {"grounding": {"ungrounded": "2"}}):
        assert ungrounded_of({"meta": meta}) == ungrounded_of({})
        assert not ungrounded_of({"meta": meta}).strings
    # Counted: the listed ones under their labels, the unlisted one in micro only, the
    # dropped relation as a spurious relation.
    doc = EvalDocument("d", "Ann met Bob", [(0, 3, "PER")], [(0, 3, "PER")],
                       ungrounded=lost.strings, ungrounded_unlisted=lost.unlisted,
                       dropped_relations=lost.relations)
    result = evaluate_extractor("x", [doc], bootstrap=0)
    assert result.entities.counts("strict") == (1, 0, 0, 0, 3)
    assert result.entities.counts("strict", "GPE") == (0, 0, 0, 0, 1)
    assert score_relations([doc]).micro("strict")["spurious"] == 1
    assert result.ungrounded_spans == 3 and result.ungrounded_relations == 1


# -- run_evaluation ------------------------------------------------------------------------


def test_run_evaluation_scores_a_given_set_of_gold_documents(gold_path: Path) -> None:
    _store_with_two_extractors(gold_path, 6)
    with GoldStore(gold_path, read_only=True) as store:
        whole = run_evaluation(store, bootstrap=0, rounds=100)
        some = sorted(store.document_ids())[:2]
        part = run_evaluation(store, ["a@1"], documents=set(some), bootstrap=0)
    assert whole.documents == 6 and [(c.a, c.b) for c in whole.comparisons] == [("a@1", "b@1")]
    assert part.documents == 2 and set(part.results["a@1"].doc_ids) == set(some)
    assert part.comparisons == []


# -- the HTML report escapes what it shows -----------------------------------------------


def test_report_shows_control_and_bidi_characters_as_visible_placeholders() -> None:
    text = "Ann\u202eevil\u202c met \x1b[31mBob\x1b[0m."
    gold = [(0, 3, "PER"), (19, 22, "PER")]
    assert text[19:22] == "Bob"
    docs = [EvalDocument("d", text, gold, gold[:1], title="t\u2066itle\x07")]
    result = evaluate_extractor("m\u202e@1", docs, bootstrap=0)
    evaluation = Evaluation(store="s\u200f.json", annotator=None, documents=1, bootstrap=0,
                            seed=0, results={result.extractor: result})
    page = render_report(evaluation, {result.extractor: docs})
    for raw in ("\u202e", "\u202c", "\x1b", "\u2066", "\x07", "\u200f"):
        assert raw not in page
    assert "m\ufffd@1" in page and "\u241b[31m" in page
    # The placeholders keep every offset: Bob is still the span that was missed.
    assert re.search(r"Bob<span class=\"ent-label\">PER", page)


def test_one_document_gives_no_interval_in_any_output(gold_path: Path, tmp_path: Path) -> None:
    _store_with_two_extractors(gold_path, 1)
    html = tmp_path / "r.html"
    args = ["evaluate", "--db", str(gold_path), "--bootstrap", "200", "--rounds", "100"]
    data = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert all(e["entities"]["micro"][s]["f1_ci"] is None
               for e in data["extractors"].values() for s in ("strict", "type"))
    (pair,) = data["comparisons"]
    assert pair["testable"] is False and pair["warning"].startswith("On 1 document where")
    tables = runner.invoke(app, [*args, "--html", str(html)])
    out = " ".join(tables.output.split())
    assert NO_INTERVAL in out and pair["warning"] in out
    assert not re.search(r"(\d+\.\d)–\1\b", out)  # no "76.0–76.0"
    page = html.read_text(encoding="utf-8")
    assert NO_INTERVAL in page and "Warning: On 1 document where they differ" in page
