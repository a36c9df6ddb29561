"""Validation of the domain models: what a bad span, relation, label or document gets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from annotations.models import (
    Annotation,
    Document,
    LabelScheme,
    Prediction,
    Relation,
    Span,
    check_layer,
    check_span_text,
    document_id,
)

TEXT = "Ana Silva joined Globex in Lisbon."
ANA, GLOBEX, LISBON = (0, 9), (17, 23), (27, 33)


def span(key: tuple[int, int], label: str = "PERSON") -> Span:
    return Span(start=key[0], end=key[1], label=label)


def test_fixture_offsets_name_the_intended_words() -> None:
    assert [TEXT[s:e] for s, e in (ANA, GLOBEX, LISBON)] == ["Ana Silva", "Globex", "Lisbon"]


@pytest.mark.parametrize(("start", "end"), [(5, 5), (6, 5), (-1, 3)])
def test_span_rejects_empty_reversed_or_negative_ranges(start: int, end: int) -> None:
    with pytest.raises(ValidationError):
        Span(start=start, end=end, label="PERSON")


def test_span_rejects_empty_label_and_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Span(start=0, end=1, label="")
    with pytest.raises(ValidationError):
        Span.model_validate({"start": 0, "end": 1, "label": "X", "text": "A"})


def test_layer_rejects_span_ending_outside_the_text() -> None:
    with pytest.raises(ValueError, match="outside the text"):
        check_layer(TEXT, [span((27, len(TEXT) + 1), "GPE")], [])
    check_layer(TEXT, [span((27, len(TEXT)), "GPE")], [])  # ending exactly at the end is fine


def test_annotation_checks_offsets_when_given_the_text() -> None:
    record = {"doc_id": "d", "spans": [{"start": 30, "end": 40, "label": "GPE"}]}
    Annotation.model_validate(record)  # without the text only the shape is checked
    with pytest.raises(ValidationError, match="outside the text"):
        Annotation.model_validate(record, context={"text": TEXT})


def test_layer_rejects_overlapping_spans_but_allows_touching_ones() -> None:
    with pytest.raises(ValueError, match="overlap"):
        check_layer(TEXT, [span((0, 9)), span((4, 12), "ORG")], [])
    with pytest.raises(ValueError, match="overlap"):
        check_layer(TEXT, [span((17, 23), "ORG"), span((17, 23), "GPE")], [])
    check_layer(TEXT, [span((0, 4)), span((4, 9))], [])


def test_a_layer_model_holds_overlapping_spans_but_never_one_span_twice() -> None:
    # Whether a layer must be flat is the scheme's to say (the store checks it).
    pred = Prediction(doc_id="d", extractor="x", spans=[span((8, 20), "ORG"), span((0, 9))])
    assert [s.key for s in pred.spans] == [(0, 9), (8, 20)]
    with pytest.raises(ValidationError, match="given twice"):
        Prediction(doc_id="d", extractor="x", spans=[span((0, 9)), span((0, 9))])


def test_relation_must_link_two_spans_of_the_layer() -> None:
    spans = [span(ANA), span(GLOBEX, "ORG")]
    check_layer(TEXT, spans, [Relation(head=ANA, child=GLOBEX, label="works_for")])
    with pytest.raises(ValueError, match="head 0-4 is not one of the spans"):
        check_layer(TEXT, spans, [Relation(head=(0, 4), child=GLOBEX, label="works_for")])
    with pytest.raises(ValueError, match="child 27-33 is not one of the spans"):
        check_layer(TEXT, spans, [Relation(head=ANA, child=LISBON, label="works_for")])
    with pytest.raises(ValidationError, match="not one of the spans"):
        Annotation(
            doc_id="d", spans=spans, relations=[Relation(head=ANA, child=LISBON, label="based_in")]
        )


def test_relation_rejects_self_links_and_duplicates() -> None:
    spans = [span(ANA), span(GLOBEX, "ORG")]
    with pytest.raises(ValueError, match="itself"):
        check_layer(TEXT, spans, [Relation(head=ANA, child=ANA, label="same")])
    twice = [Relation(head=ANA, child=GLOBEX, label="works_for")] * 2
    with pytest.raises(ValueError, match="given twice"):
        check_layer(TEXT, spans, twice)


def test_span_text_must_equal_the_document_slice() -> None:
    check_span_text(TEXT, *GLOBEX, "Globex")
    check_span_text(TEXT, *GLOBEX, None)  # no text given: nothing to check
    with pytest.raises(ValueError, match="differs"):
        check_span_text(TEXT, *GLOBEX, "Globe")
    with pytest.raises(ValueError, match="differs"):
        check_span_text(TEXT, *GLOBEX, "globex")


def test_offsets_are_code_points_with_emoji_cjk_and_combining_marks() -> None:
    text = "👩‍🔬 Zoe\u0301 visited 北京 🇯🇵 with Ana."
    start = text.index("北京")
    check_span_text(text, start, start + 2, "北京")
    zoe = text.index("Zoe")
    check_span_text(text, zoe, zoe + 4, "Zoe\u0301")
    ana = text.index("Ana")
    check_layer(
        text, [span((zoe, zoe + 4)), span((start, start + 2), "GPE"), span((ana, ana + 3))], []
    )
    assert text[ana : ana + 3] == "Ana"


def test_label_scheme_rejects_unknown_labels() -> None:
    scheme = LabelScheme().with_entities(["PERSON", "ORG"]).with_relations(["works_for"])
    scheme.check_labels(
        [span(ANA), span(GLOBEX, "ORG")], [Relation(head=ANA, child=GLOBEX, label="works_for")]
    )
    with pytest.raises(ValueError, match="unknown entity label 'GPE'"):
        scheme.check_labels([span(LISBON, "GPE")])
    with pytest.raises(ValueError, match="unknown relation label 'based_in'"):
        scheme.check_labels([span(ANA)], [Relation(head=ANA, child=GLOBEX, label="based_in")])


def test_label_scheme_adds_labels_with_distinct_keys_and_keeps_existing_ones() -> None:
    scheme = LabelScheme().with_entities(["PERSON", "ORG"])
    grown = scheme.with_entities(["ORG", "GPE"])
    assert grown.entity_names == ["PERSON", "ORG", "GPE"]
    assert grown.entity("PERSON") == scheme.entity("PERSON")
    keys = [label.key for label in grown.entities]
    assert len(set(keys)) == len(keys) and None not in keys
    assert scheme.entity_names == ["PERSON", "ORG"]  # the original is unchanged


def test_label_scheme_rejects_duplicate_names_and_keys() -> None:
    with pytest.raises(ValidationError, match="defined twice"):
        LabelScheme.model_validate({"entities": [{"name": "ORG"}, {"name": "ORG"}]})
    with pytest.raises(ValidationError, match="key"):
        LabelScheme.model_validate(
            {"entities": [{"name": "ORG", "key": "1"}, {"name": "GPE", "key": "1"}]}
        )
    with pytest.raises(ValidationError, match="whitespace"):
        LabelScheme.model_validate({"entities": [{"name": "NEWS ORG"}]})


def test_document_id_is_the_hash_of_the_normalised_text() -> None:
    crlf = Document.from_text("Line one\r\nLine two\rthree")
    assert crlf.text == "Line one\nLine two\nthree"
    assert crlf.id == Document.from_text("Line one\nLine two\nthree").id == document_id(crlf.text)
    assert Document.from_text("other").id != crlf.id
    with pytest.raises(ValidationError, match="not the hash"):
        Document(id="0" * 16, text="Line one")
    with pytest.raises(ValidationError, match="normalised"):
        Document(id=document_id("a\r\nb"), text="a\r\nb")


def test_layer_spans_are_kept_in_text_order() -> None:
    ann = Annotation(doc_id="d", spans=[span(LISBON, "GPE"), span(ANA)])
    assert [s.key for s in ann.spans] == [ANA, LISBON]


def test_common_labels_keep_their_keys_and_colours_in_every_store() -> None:
    """After a brat import of DATE EVENT GPE NORP ORG, ORG is still 2 and orange."""
    from annotations.default_labels import default_scheme
    from annotations.models import COMMON_COLOURS, COMMON_KEYS

    default = {label.name: (label.key, label.colour) for label in default_scheme().entities}
    for names in (["DATE", "EVENT", "GPE", "NORP", "ORG"], ["ORG", "Protein", "PERSON"],
                  ["MONEY"], list(reversed(COMMON_KEYS))):
        scheme = LabelScheme().with_entities(names)
        for label in scheme.entities:
            if label.name in COMMON_KEYS:
                assert (label.key, label.colour) == default[label.name] == (
                    COMMON_KEYS[label.name], COMMON_COLOURS[label.name])
        keys = [label.key for label in scheme.entities if label.key]
        assert len(keys) == len(set(keys))


def test_other_labels_take_what_is_left_in_their_order() -> None:
    scheme = LabelScheme().with_entities(["Protein", "ORG", "Gene"])
    assert [(label.name, label.key) for label in scheme.entities] == [
        ("Protein", "1"), ("ORG", "2"), ("Gene", "3")]
    colours = [label.colour for label in scheme.entities]
    assert len(set(colours)) == 3 and colours[1] == "#ff7f0e"
    # A common label added later to a scheme that gave its key away takes a free one.
    later = scheme.with_entities(["PERSON"])
    assert [label.key for label in later.entities] == ["1", "2", "3", "4"]
    # Labels the scheme has keep their keys and colours.
    assert later.entities[:3] == scheme.entities
