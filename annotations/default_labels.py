"""The default news labels: what a new store of plain articles starts with.

spaCy's English NER labels, in the order (and so with the keys) that a spaCy
extractor would add them, and common news relations.  ``reader import`` of plain
articles and ``reader annotate`` give a new store this scheme; a store created by a
gold import adopts that import's labels instead (``formats.transfer``).
"""

from __future__ import annotations

from .extractors import labels_in_key_order
from .models import LabelScheme, RelationLabel

DEFAULT_ENTITIES = labels_in_key_order([
    "CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY", "NORP",
    "ORDINAL", "ORG", "PERCENT", "PERSON", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
])

DEFAULT_RELATIONS = [
    RelationLabel(name="works_for", key="w", heads=["PERSON"], children=["ORG", "GPE", "NORP"]),
    RelationLabel(name="located_in", key="l",
                  heads=["ORG", "FAC", "GPE", "LOC", "EVENT"], children=["GPE", "LOC", "FAC"]),
    RelationLabel(name="member_of", key="m", heads=["PERSON", "ORG"], children=["ORG", "NORP"]),
    RelationLabel(name="said", key="s", heads=["PERSON", "ORG"], children=[]),
    RelationLabel(name="related_to", key="r"),
]


def default_scheme() -> LabelScheme:
    """The default news labels as a (flat) label scheme."""
    scheme = LabelScheme().with_entities(DEFAULT_ENTITIES)
    return scheme.model_copy(update={"relations": [r.model_copy() for r in DEFAULT_RELATIONS]})
