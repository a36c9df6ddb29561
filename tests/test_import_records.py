"""An import builds each layer's record itself (no model per span, see
``GoldStore.prepare_record``): the records it stores are those the models write."""

from __future__ import annotations

from pathlib import Path

import srsly
from tinydb import TinyDB

from annotations.formats.transfer import import_layers
from annotations.store import GoldStore


def test_imported_records_are_the_models_own_dumps(gold_path: Path, tmp_path: Path) -> None:
    text = "Anna Berg met Cole Dorn in Geneva."
    spans = [{"start": 14, "end": 23, "label": "PER"}, {"start": 0, "end": 9, "label": "PER"},
             {"start": 27, "end": 33, "label": "GPE", "source": "rules@1", "state": "changed"}]
    relation = {"head_span": {"start": 0, "end": 9, "label": "PER"},
                "child_span": {"start": 14, "end": 23, "label": "PER"}, "label": "met"}
    gold, predicted = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    srsly.write_jsonl(gold, [{"text": text, "spans": spans, "relations": [relation],
                              "answer": "accept"}])
    srsly.write_jsonl(predicted, [{"text": text, "spans": spans[:2], "relations": [relation]}])
    with GoldStore(gold_path) as store:
        import_layers(store, gold, format_name="prodigy")
        import_layers(store, predicted, format_name="prodigy", as_predictions=True,
                      extractor="m@1")
    data = TinyDB(gold_path).storage.read()
    assert data is not None
    (annotation,) = data["annotations"].values()
    (prediction,) = data["predictions"].values()
    with GoldStore(gold_path, read_only=True) as store:
        (doc_id,) = store.document_ids()
        model = store.annotation(doc_id)
        pred_model = store.prediction(doc_id, "m@1")
    assert model is not None and pred_model is not None
    # Every field, in the models' order after the fields that name the record.
    assert annotation == model.model_dump(mode="json")
    assert prediction == pred_model.model_dump(mode="json")
    assert [s["start"] for s in annotation["spans"]] == [0, 14, 27]  # in span order
    assert annotation["spans"][2] == {"start": 27, "end": 33, "label": "GPE",
                                      "source": "rules@1", "state": "changed"}
    assert annotation["relations"] == [{"head": [0, 9], "child": [14, 23], "label": "met"}]
    assert [s["state"] for s in prediction["spans"]] == ["suggested", "suggested"]
    assert list(annotation)[:3] == ["doc_id", "annotator", "status"]
