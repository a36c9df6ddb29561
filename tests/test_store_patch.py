"""An edit of a stored annotation is journalled as a patch of the changed spans.

The patch must leave the store exactly as a whole-record save would: in memory, after
a reopen (journal replay), after a checkpoint (the TinyDB file), and when the journal
is replayed over a file that already holds it (a crash just after a checkpoint's rename).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from tinydb import TinyDB

from annotations.models import Annotation, Document, Relation, Span
from annotations.storage.patch import PATCH_TABLE
from annotations.store import GoldStore

LABELS = ["PER", "ORG", "LOC"]
SLOT = 7


def make_doc() -> Document:
    return Document.from_text(" ".join(f"w{n:04d}" for n in range(400)))


def journal_ops(store: GoldStore) -> list[list]:
    ops = []
    for line in store.journal_path.read_bytes().splitlines():
        value = json.loads(line[9:])
        if isinstance(value, list):  # not the header line
            ops.extend(value)
    return ops


def random_edit(rng: random.Random, ann: Annotation, length: int,
                overlapping: bool = False) -> Annotation:
    """What the annotator does: add, relabel, remove spans; add or drop relations.

    In an overlapping layer a new span keeps the spans under it, and relations name
    their spans by (start, end, label)."""
    spans = list(ann.spans)
    relations = list(ann.relations)
    name = (lambda s: s.ref) if overlapping else (lambda s: s.key)
    action = rng.choice(["add", "add", "relabel", "remove", "relate", "unrelate", "status"])
    if action == "add":
        start = rng.randrange(0, length - SLOT, 3)
        new = Span(start=start, end=start + rng.randint(2, 9), label=rng.choice(LABELS))
        gone = {name(s) for s in spans if s.start < new.end and new.start < s.end
                and (not overlapping or s.ref == new.ref)}
        spans = sorted([s for s in spans if name(s) not in gone] + [new], key=lambda s: s.ref)
        relations = [r for r in relations if r.head not in gone and r.child not in gone]
    elif action == "relabel" and spans:
        index = rng.randrange(len(spans))
        relabelled = spans[index].model_copy(update={"label": rng.choice(LABELS)})
        if overlapping:
            gone = {spans[index].ref, relabelled.ref}
            spans = sorted([s for s in spans if s.ref not in gone] + [relabelled],
                           key=lambda s: s.ref)
            relations = [r for r in relations if r.head not in gone and r.child not in gone]
        else:
            spans[index] = relabelled
    elif action == "remove" and spans:
        gone_key = name(spans.pop(rng.randrange(len(spans))))
        relations = [r for r in relations if gone_key not in (r.head, r.child)]
    elif action == "relate" and len(spans) > 1:
        head, child = rng.sample(spans, 2)
        rel = Relation(head=name(head), child=name(child), label="rel")
        if rel.key not in {r.key for r in relations}:
            relations.append(rel)
    elif action == "unrelate" and relations:
        relations.pop(rng.randrange(len(relations)))
    elif action == "status":
        return ann.model_copy(update={"status": rng.choice(["accept", "reject", None])})
    return ann.model_copy(update={"spans": spans, "relations": relations})


def content(ann: Annotation | None) -> tuple:
    assert ann is not None
    return ([s.model_dump() for s in ann.spans], [r.model_dump() for r in ann.relations],
            ann.status)


@pytest.mark.parametrize(("seed", "overlapping"), [(0, False), (1, False), (2, False),
                                                   (3, False), (4, True), (5, True)])
def test_patched_edits_equal_whole_saves_in_memory_after_reopen_and_in_the_file(
    tmp_path: Path, seed: int, overlapping: bool
):
    rng = random.Random(seed)
    doc = make_doc()
    patched_path, whole_path = tmp_path / "patched.json", tmp_path / "whole.json"
    with GoldStore(patched_path) as patched, GoldStore(whole_path) as whole:
        for store in (patched, whole):
            store.add_documents([doc])
            store.add_entity_labels(LABELS)
            store.add_relation_labels(["rel"])
            if overlapping:
                store.set_labels(store.labels.model_copy(update={"overlapping": True}))
        ann = patched.save_annotation(Annotation(doc_id=doc.id))
        whole.save_annotation(ann)
        # From here the journal holds patches only, so the replays below start from a
        # file, not from a whole-record put in the journal.
        patched.checkpoint()
        for _ in range(150):
            ann = patched.save_annotation(random_edit(rng, ann, len(doc.text), overlapping))
            # The reference: every save as one whole record.
            whole.save_annotations([ann])
            assert content(patched.annotation(doc.id)) == content(ann)
            assert content(whole.annotation(doc.id)) == content(ann)
        ops = journal_ops(patched)
        assert sum(table == PATCH_TABLE for table, _, _ in ops) > 100
        shutil.copy(patched.journal_path, tmp_path / "journal.copy")
    with GoldStore(patched_path, read_only=True) as reopened:
        assert content(reopened.annotation(doc.id)) == content(ann)
    # After the checkpoint, plain TinyDB reads the same record as from whole saves.
    patched_record = TinyDB(patched_path).table("annotations").all()[0]
    whole_record = TinyDB(whole_path).table("annotations").all()[0]
    for record in (patched_record, whole_record):
        record.pop("updated")
        record.pop("created")
    assert patched_record == whole_record
    # Crash just after a checkpoint's rename: the journal is replayed over a file that
    # already holds every edit in it; the patches must change nothing.
    shutil.copy(tmp_path / "journal.copy", patched.journal_path)
    with GoldStore(patched_path) as replayed:
        assert content(replayed.annotation(doc.id)) == content(ann)


def test_a_label_edit_journals_only_the_changed_span(tmp_path: Path):
    doc = make_doc()
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(LABELS)
        spans = [Span(start=n * 10, end=n * 10 + 5, label="PER") for n in range(200)]
        ann = store.save_annotation(Annotation(doc_id=doc.id, spans=spans))
        size = store.journal_path.stat().st_size
        edited = list(ann.spans)
        edited[150] = edited[150].model_copy(update={"label": "ORG"})
        store.save_annotation(ann.model_copy(update={"spans": edited}))
        (table, _, patch), = journal_ops(store)[-1:]
        assert table == PATCH_TABLE
        assert patch["remove"] == [[1500, 1505, "PER"]]
        assert [(s["start"], s["label"]) for s in patch["spans"]] == [(1500, "ORG")]
        assert store.journal_path.stat().st_size - size < 1000


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda spans: spans[:5] + [Span(start=42, end=58, label="PER")] + spans[6:], "overlap"),
        (lambda spans: spans + [Span(start=5000, end=5004, label="PER")], "outside the text"),
        (lambda spans: spans[:1] + [spans[1].model_copy(update={"label": "NOPE"})] + spans[2:],
         "unknown entity label"),
    ],
)
def test_a_bad_edit_is_refused_as_by_a_whole_save(tmp_path: Path, change, reason: str):
    doc = make_doc()
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(LABELS)
        spans = [Span(start=n * 10, end=n * 10 + 5, label="PER") for n in range(20)]
        ann = store.save_annotation(Annotation(doc_id=doc.id, spans=spans))
        with pytest.raises(ValueError, match=reason):
            store.save_annotation(ann.model_copy(update={"spans": change(list(ann.spans))}))
        assert content(store.annotation(doc.id)) == content(ann)


def test_a_relation_to_a_removed_span_is_refused(tmp_path: Path):
    doc = make_doc()
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(LABELS)
        store.add_relation_labels(["rel"])
        spans = [Span(start=n * 10, end=n * 10 + 5, label="PER") for n in range(20)]
        relations = [Relation(head=(30, 35), child=(50, 55), label="rel")]
        ann = store.save_annotation(
            Annotation(doc_id=doc.id, spans=spans, relations=relations)
        )
        kept = [s for s in ann.spans if s.key != (50, 55)]
        with pytest.raises(ValueError, match="not one of the spans"):
            store.save_annotation(ann.model_copy(update={"spans": kept}))
        assert content(store.annotation(doc.id)) == content(ann)


def test_an_edit_made_in_place_on_the_returned_model_is_still_saved(tmp_path: Path):
    doc = make_doc()
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(LABELS)
        ann = store.save_annotation(
            Annotation(doc_id=doc.id, spans=[Span(start=0, end=5, label="PER")])
        )
        ann.spans.append(Span(start=10, end=15, label="ORG"))
        store.save_annotation(ann)
        assert [s.key for s in store.annotation(doc.id).spans] == [(0, 5), (10, 15)]


def test_an_overlapping_layer_patches_nested_spans_and_refuses_one_span_twice(tmp_path: Path):
    doc = make_doc()
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(LABELS)
        store.add_relation_labels(["rel"])
        store.set_labels(store.labels.model_copy(update={"overlapping": True}))
        spans = [Span(start=n * 10, end=n * 10 + 5, label="PER") for n in range(20)]
        ann = store.save_annotation(Annotation(doc_id=doc.id, spans=spans))
        inner, same = Span(start=11, end=13, label="ORG"), Span(start=10, end=15, label="LOC")
        rel = Relation(head=(10, 15, "LOC"), child=(11, 13, "ORG"), label="rel")
        ann = store.save_annotation(ann.model_copy(update={
            "spans": sorted([*ann.spans, inner, same], key=lambda s: s.ref),
            "relations": [rel]}))
        assert journal_ops(store)[-1][0] == PATCH_TABLE
        assert [s.ref for s in store.annotation(doc.id).spans[1:4]] == [
            (10, 15, "LOC"), (10, 15, "PER"), (11, 13, "ORG")]
        with pytest.raises(ValueError, match="given twice"):
            store.save_annotation(ann.model_copy(update={"spans": [*ann.spans, inner]}))
        ambiguous = Relation(head=(10, 15), child=(11, 13), label="rel")
        with pytest.raises(ValueError, match="names 2 spans"):
            store.save_annotation(ann.model_copy(update={"relations": [ambiguous]}))
        assert content(store.annotation(doc.id)) == content(ann)


def test_an_overlapping_scheme_cannot_become_flat_while_spans_overlap(tmp_path: Path):
    doc = make_doc()
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
        store.add_entity_labels(LABELS)
        overlapping = store.labels.model_copy(update={"overlapping": True})
        store.set_labels(overlapping)
        ann = store.save_annotation(Annotation(doc_id=doc.id, spans=[
            Span(start=0, end=9, label="ORG"), Span(start=5, end=9, label="PER")]))
        flat = overlapping.model_copy(update={"overlapping": False})
        with pytest.raises(ValueError, match=r"cannot become flat.*0-9 \(ORG\) and 5-9"):
            store.set_labels(flat)
        assert store.labels.overlapping
        store.save_annotation(ann.model_copy(update={"spans": ann.spans[:1]}))
        store.set_labels(flat)
        assert not store.labels.overlapping
