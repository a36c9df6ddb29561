"""The domain of the reader-annotator: models, the gold store, import/export,
extractors and evaluation.  Usable as a library without a terminal; never
imports textual.

The names below are loaded when first used (PEP 562), so that importing one
module of the package (``annotations.errors``, say) does not load the store,
pydantic or numpy: the command line starts fast and pays only for what a
command uses."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Where each public name lives.
_HOMES = {
    **dict.fromkeys((
        "AnnotationsError", "InputError", "InputErrors", "NotFoundError", "OutputError",
        "ReadOnlyStoreError", "StoreCorruptError", "StoreError", "StoreLockedError",
    ), "errors"),
    **dict.fromkeys((
        "HUMAN", "Annotation", "Document", "EntityLabel", "LabelScheme", "Prediction",
        "Relation", "RelationLabel", "Span",
    ), "models"),
    "AtomicJSONStorage": "storage",
    "GoldStore": "store",
}

__all__ = [
    "HUMAN", "AnnotationsError", "Annotation", "AtomicJSONStorage", "Document", "EntityLabel",
    "GoldStore", "InputError", "InputErrors", "LabelScheme", "NotFoundError", "OutputError",
    "Prediction", "ReadOnlyStoreError", "Relation", "RelationLabel", "Span",
    "StoreCorruptError", "StoreError", "StoreLockedError",
]  # fmt: skip (the keys of _HOMES; tests/test_layering.py checks)

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
