"""The domain of the reader-annotator: models, the gold store, import/export,
extractors and evaluation.  Usable as a library without a terminal; never
imports textual."""

from .errors import (
    AnnotationsError,
    InputError,
    InputErrors,
    NotFoundError,
    OutputError,
    ReadOnlyStoreError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from .models import (
    HUMAN,
    Annotation,
    Document,
    EntityLabel,
    LabelScheme,
    Prediction,
    Relation,
    RelationLabel,
    Span,
)
from .storage import AtomicJSONStorage
from .store import GoldStore

__all__ = [
    "HUMAN", "AnnotationsError", "Annotation", "AtomicJSONStorage", "Document", "EntityLabel",
    "GoldStore", "InputError", "InputErrors", "LabelScheme", "NotFoundError", "OutputError",
    "Prediction",
    "ReadOnlyStoreError", "Relation", "RelationLabel", "Span", "StoreCorruptError",
    "StoreError", "StoreLockedError",
]  # fmt: skip
