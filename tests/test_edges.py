"""No whitespace at the edge of a gold span: the one trimming rule (annotations.edges),
applied when suggestions seed a document and when review takes a prediction."""

from __future__ import annotations

from pathlib import Path

from annotations.edges import padded, trim_layer, trimmed
from annotations.models import Document, Prediction, Relation, Span
from annotations.session import EditingSession
from annotations.store import GoldStore

TEXT = "The summit in Dushanbe\n\nwas held by the CSTO.\n  \nTajik officials came.\n"
EXTRACTOR = "spacy@1"


def at(needle: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


def test_trimmed_takes_whitespace_off_both_edges_and_refuses_whitespace_only():
    assert trimmed(TEXT, *at("Dushanbe\n\n")) == at("Dushanbe")
    assert trimmed(TEXT, *at(" CSTO")) == at("CSTO") == trimmed(TEXT, *at("CSTO"))
    assert trimmed(TEXT, *at("\n  \n")) is None
    assert padded(TEXT, *at("Dushanbe\n")) and not padded(TEXT, *at("Dushanbe"))


def test_trim_layer_moves_relations_with_their_spans_and_drops_whitespace_only_spans():
    dushanbe = Span(start=at("Dushanbe\n\n")[0], end=at("Dushanbe\n\n")[1], label="GPE")
    csto = Span(start=at("CSTO")[0], end=at("CSTO")[1], label="ORG")
    blank = Span(start=at("\n  \n")[0], end=at("\n  \n")[1], label="GPE")
    relations = [Relation(head=csto.ref, child=dushanbe.ref, label="located_in"),
                 Relation(head=blank.key, child=csto.key, label="member_of")]
    layer = trim_layer(TEXT, [dushanbe, csto, blank], relations)
    assert [(s.start, s.end) for s in layer.spans] == [at("Dushanbe"), at("CSTO")]
    assert (layer.trimmed, layer.dropped) == (1, 1)
    assert [(r.head, r.child) for r in layer.relations] == [(csto.ref, (*at("Dushanbe"), "GPE"))]


def make_store(path: Path, spans: list[Span]) -> GoldStore:
    store = GoldStore(path)
    store.add_documents([Document.from_text(TEXT)])
    store.set_labels(store.labels.with_entities(["GPE", "ORG", "NORP"]))
    store.put_predictions([Prediction(doc_id=store.document_ids()[0], extractor=EXTRACTOR,
                                      spans=spans)])
    return store


def suggestion(needle: str, label: str) -> Span:
    start, end = at(needle)
    return Span(start=start, end=end, label=label, source=EXTRACTOR, state="suggested")


def test_suggestions_are_trimmed_when_they_seed_a_document_and_stored_trimmed(tmp_path: Path):
    spans = [suggestion("Dushanbe\n\n", "GPE"), suggestion("\n  \n", "GPE"),
             suggestion("Tajik", "NORP")]
    with make_store(tmp_path / "gold.json", spans) as store:
        session = EditingSession(store)
        session.open(0)
        assert [s.text_in(TEXT) for s in session.annotation.spans] == ["Dushanbe", "Tajik"]
        # one trimmed, one only whitespace, and the screen is told so
        assert (session.seeding.trimmed, session.seeding.dropped) == (1, 1)
        assert session.seeding.describe() == (
            f"1 suggestion(s) trimmed of edge whitespace; 1 left out as blank or a "
            f"duplicate ({EXTRACTOR})")
        session.set_status("accept", confirm_unreviewed=True)
        gold = store.annotation(session.doc_id, session.annotator)
        assert gold is not None
        assert [s.text_in(TEXT) for s in gold.spans] == ["Dushanbe", "Tajik"]


def test_taking_a_prediction_in_review_trims_it(tmp_path: Path):
    with make_store(tmp_path / "gold.json", []) as store:
        session = EditingSession(store)
        session.open(0)
        session.take_prediction([], [(*at("Dushanbe\n\n"), "GPE"), (*at("\n  \n"), "GPE")],
                                EXTRACTOR)
        assert [s.text_in(TEXT) for s in session.annotation.spans] == ["Dushanbe"]


def test_a_span_shows_its_whitespace_and_control_characters():
    from annotations.describe import quoted, shown
    assert shown("Dushanbe\n\n") == "Dushanbe␊␊"
    assert shown(" CSTO\t") == "␣CSTO␉" and shown("  ") == "␣␣"
    assert shown("Tajik National") == "Tajik National"
    assert quoted(TEXT, *at("Dushanbe\n\n")) == "'Dushanbe␊␊'"  # notices say the same


def evaluated_store(path: Path) -> Path:
    """Gold 'Dushanbe' GPE and 'CSTO' ORG; the extractor swallowed the newlines after
    'Dushanbe' and got 'Tajik' wrong."""
    from annotations.models import Annotation
    doc = Document.from_text(TEXT)
    with GoldStore(path) as store:
        store.add_documents([doc])
        store.set_labels(store.labels.with_entities(["GPE", "ORG", "NORP"]))
        gold = [Span(start=at("Dushanbe")[0], end=at("Dushanbe")[1], label="GPE"),
                Span(start=at("CSTO")[0], end=at("CSTO")[1], label="ORG")]
        store.save_annotation(Annotation(doc_id=doc.id, spans=gold, status="accept"))
        store.put_predictions([Prediction(doc_id=doc.id, extractor=EXTRACTOR, spans=[
            Span(start=at("Dushanbe\n\n")[0], end=at("Dushanbe\n\n")[1], label="GPE"),
            Span(start=at("CSTO")[0], end=at("CSTO")[1], label="ORG"),
            Span(start=at("Tajik")[0], end=at("Tajik")[1], label="GPE")])])
    return path


def test_evaluate_scores_as_stored_and_counts_edge_whitespace_errors_in_every_output(
        tmp_path: Path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from reader.cli import app
    from reader.commands import common
    monkeypatch.setattr(common.console, "width", 200)
    db = str(evaluated_store(tmp_path / "gold.json"))
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, ["evaluate", "--db", db, "--bootstrap", "0", *args],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result
    data = json.loads(run("--json").stdout)
    ours = data["extractors"][EXTRACTOR]
    # Scored as stored: 'Dushanbe\n\n' is a boundary error; of the two errors one is
    # edge whitespace only ('Tajik' GPE is a real one).
    strict = ours["entities"]["micro"]["strict"]
    assert (strict["correct"], strict["incorrect"] + strict["spurious"]) == (1, 2)
    assert ours["edge_whitespace_errors"] == 1 and data["strip_predictions"] is False
    out = run().output
    assert f"{EXTRACTOR}: 1 predicted span(s) are errors only for whitespace at their edges" in out
    html = tmp_path / "report.html"
    run("--html", str(html))
    assert '<td class="num">1</td>' in html.read_text().split("Edge whitespace:")[1]
    # --strip-predictions trims before scoring: the boundary error is gone.
    data = json.loads(run("--json", "--strip-predictions").stdout)
    strict = data["extractors"][EXTRACTOR]["entities"]["micro"]["strict"]
    assert (strict["correct"], strict["spurious"]) == (2, 1) and data["strip_predictions"]
    assert data["extractors"][EXTRACTOR]["edge_whitespace_errors"] == 0
    assert "trimmed of whitespace at their edges before scoring" in run(
        "--strip-predictions").output
