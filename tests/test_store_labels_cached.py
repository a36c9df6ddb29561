"""The store builds its label scheme once per change of the labels table, not per ask."""

from __future__ import annotations

from pathlib import Path

from annotations.models import Document
from annotations.store import GoldStore


def test_labels_are_built_once_and_again_after_each_change(tmp_path: Path) -> None:
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([Document.from_text("Maria Keller met Bob.")])
        first = store.labels
        assert store.labels is first  # asked again: the same scheme, not rebuilt
        store.add_entity_labels(["PERSON"])
        assert store.labels is not first
        assert store.labels.entity_names == ["PERSON"]
        store.set_labels(store.labels.model_copy(update={"overlapping": True}))
        assert store.labels.overlapping
    with GoldStore(tmp_path / "gold.json", read_only=True) as reopened:
        assert reopened.labels.entity_names == ["PERSON"] and reopened.labels.overlapping
