"""A store written before overlapping layers (relations named by (start, end), no
``overlapping`` in the label scheme, span patches removing ``[start, end]`` keys in the
journal) opens, reads and takes edits as before.  The old store is written by the code
of that time, taken from git; the test is skipped where the history is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest
from tinydb import TinyDB

from annotations.models import Relation, Span
from annotations.store import GoldStore

BEFORE = "afd9c76"  # the last commit before overlapping layers
ROOT = Path(__file__).resolve().parents[1]

WRITER = r"""
import os, sys
from annotations.models import Annotation, Document, LabelScheme, Relation, Span
from annotations.store import GoldStore
text = "Maria Keller joined Aster Rail in Lisbon."
with_journal = sys.argv[2] == "journal"
store = GoldStore(sys.argv[1])
doc = Document.from_text(text)
store.add_documents([doc])
store.set_labels(LabelScheme().with_entities(["PERSON", "ORG", "GPE"])
                 .with_relations(["works_for"]))
ann = store.save_annotation(Annotation(doc_id=doc.id, status="accept", spans=[
    Span(start=0, end=12, label="PERSON"), Span(start=20, end=30, label="ORG"),
    Span(start=34, end=40, label="ORG")], relations=[
    Relation(head=(0, 12), child=(20, 30), label="works_for")]))
store.checkpoint()
# A relabel: journalled as a span patch removing the [start, end] key of the old span.
spans = list(ann.spans)
spans[2] = spans[2].model_copy(update={"label": "GPE"})
store.save_annotation(ann.model_copy(update={"spans": spans}))
if with_journal:
    os._exit(0)  # leave the patch in the journal, unfolded
store.close()
"""


def _old_code(tmp_path: Path) -> Path:
    try:
        archive = subprocess.run(["git", "archive", BEFORE, "annotations"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"the git history ({BEFORE}) is not beside the checkout")
    folder = tmp_path / "old"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.mark.parametrize("journal", ["journal", "folded"])
def test_a_store_written_before_overlapping_layers_opens_and_edits(tmp_path: Path,
                                                                  journal: str) -> None:
    old = _old_code(tmp_path)
    path = tmp_path / "gold.json"
    env = dict(os.environ, PYTHONPATH=str(old))
    subprocess.run([sys.executable, "-c", WRITER, str(path), journal], env=env, check=True,
                   cwd=tmp_path)
    labels = TinyDB(path).table("labels").all()[0]
    assert "overlapping" not in labels
    with GoldStore(path) as store:
        assert store.labels.overlapping is False
        (ann,) = list(store.gold())
        assert [s.ref for s in ann.spans] == [(0, 12, "PERSON"), (20, 30, "ORG"),
                                            (34, 40, "GPE")]
        assert ann.relations == [Relation(head=(0, 12), child=(20, 30), label="works_for")]
        edited = ann.model_copy(update={"spans": [*ann.spans[:2],
                                                  Span(start=34, end=40, label="ORG")]})
        store.save_annotation(edited)
    with GoldStore(path, read_only=True) as store:
        (ann,) = list(store.gold())
        assert [s.ref for s in ann.spans][-1] == (34, 40, "ORG")
        assert ann.relations[0].head == (0, 12)
