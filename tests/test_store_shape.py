"""The store's quick record check (``storage.shape``) says yes only where the models do.

``check_record`` takes a record the quick check passes without asking pydantic, so a
record it passes must be one the models accept; these tests mutate plain records in
every field and hold the two to that (and check the quick path is really taken)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from annotations.models import LENIENT, Annotation, Prediction
from annotations.storage import shape
from annotations.storage.files import check_record

SPAN = {"start": 3, "end": 9, "label": "PERSON", "source": "human", "state": "confirmed"}
ANNOTATION: dict[str, Any] = {
    "doc_id": "d1", "spans": [SPAN, dict(SPAN, start=10, end=14, label="ORG")],
    "relations": [{"head": [3, 9], "child": [10, 14, "ORG"], "label": "works_for"}],
    "annotator": "ann", "status": "accept", "notes": "", "created": "2026-01-01T00:00:00",
    "updated": "2026-01-01T00:00:00", "chosen": None,
}
PREDICTION: dict[str, Any] = {
    "doc_id": "d1", "spans": [dict(SPAN, source="x@1", state="suggested")], "relations": [],
    "extractor": "x@1", "created": "2026-01-01T00:00:00", "meta": {"grounding": {"n": 1}},
}
MODELS = {"annotations": Annotation, "predictions": Prediction}

values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 30), st.floats(allow_nan=False),
    st.sampled_from(["", "x", "PERSON", "accept", "open", "suggested", "5", "a" * 20_001]),
    st.lists(st.integers(-2, 20), max_size=4), st.just({}), st.just([3, 9, "PERSON"]),
    st.just({"order": "random", "rank": 1, "stratum": "differ"}),
)
FIELDS = {"record": sorted({*ANNOTATION, *PREDICTION, "unknown"}),
          "span": [*SPAN, "unknown"], "relation": ["head", "child", "label", "unknown"]}


def _accepted(table: str, record: dict[str, Any]) -> bool:
    try:
        MODELS[table].model_validate(record, context=LENIENT)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A plain record with one to three of its fields, or its spans' or relations' fields,
    set to odd values or removed."""
    table = draw(st.sampled_from(sorted(MODELS)))
    record = {k: (list(map(dict, v)) if k in ("spans", "relations") else v)
              for k, v in (ANNOTATION if table == "annotations" else PREDICTION).items()}
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["record", "span", "relation"]))
        target = record
        found = record.get("spans" if where == "span" else "relations")
        if where != "record" and isinstance(found, list) and found:
            target = found[draw(st.integers(0, len(found) - 1))]
        if not isinstance(target, dict) or (target is record and where != "record"):
            continue
        name = draw(st.sampled_from(FIELDS[where]))
        if draw(st.booleans()):
            target.pop(name, None)
        else:
            target[name] = draw(values)
    return table, record


@settings(max_examples=150, deadline=None)
@given(mutated())
def test_quick_check_accepts_only_what_the_models_accept(case: tuple[str, dict[str, Any]]
                                                          ) -> None:
    table, record = case
    if shape.layer_record_ok(table, record):
        assert _accepted(table, record), record


@pytest.mark.parametrize(("table", "record"), [("annotations", ANNOTATION),
                                               ("predictions", PREDICTION)])
def test_plain_records_take_the_quick_path(table: str, record: dict[str, Any]) -> None:
    assert shape.layer_record_ok(table, record)
    check_record(table, record)


def test_quick_check_refuses_what_the_models_refuse_with_their_message() -> None:
    spans = [SPAN, dict(SPAN)]  # the same span twice
    record = dict(ANNOTATION, spans=spans, relations=[])
    assert not shape.layer_record_ok("annotations", record)
    with pytest.raises(ValidationError, match="given twice"):
        check_record("annotations", record)
    backwards = dict(ANNOTATION, spans=[dict(SPAN, start=9, end=3)], relations=[])
    with pytest.raises(ValidationError, match="must be greater than start"):
        check_record("annotations", backwards)


def test_notes_limit_is_the_models() -> None:
    limits = [m.max_length for m in Annotation.model_fields["notes"].metadata
              if hasattr(m, "max_length")]
    assert limits == [shape._NOTES_MAX]


ODD = [None, True, False, -1, 0, 2, 3, 9, 30, 3.0, "", "x", "PERSON", "accept", "suggested",
       "5", "a" * 20_001, [], [3, 9], [3, 9, "PERSON"], [3, 9, 1], (3, 9), {}, {"k": 1},
       {"order": "random", "rank": 1, "stratum": "differ"}, {"order": "random"}]


def _one_change_each() -> list[tuple[str, dict[str, Any]]]:
    """Every plain record with one field (of the record, a span or a relation) removed,
    set to each odd value, or added."""
    cases = []
    for table, plain in (("annotations", ANNOTATION), ("predictions", PREDICTION)):
        for where in ("record", "span", "relation"):
            if where == "relation" and not plain["relations"]:
                continue
            for name in FIELDS[where]:
                for value in [..., *ODD]:
                    record = {k: (list(map(dict, v)) if k in ("spans", "relations") else v)
                              for k, v in plain.items()}
                    target = {"record": record, "span": record["spans"][0],
                              "relation": (record["relations"] or [{}])[0]}[where]
                    if value is ...:
                        target.pop(name, None)
                    else:
                        target[name] = value
                    cases.append((table, record))
    return cases


def test_every_single_change_the_quick_check_passes_the_models_accept() -> None:
    for table, record in _one_change_each():
        if shape.layer_record_ok(table, record):
            assert _accepted(table, record), record
