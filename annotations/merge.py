"""Bring other stores' annotations into one store, under their annotators' names.

Each annotator may work in their own store (``reader annotate --db alice.json``);
``reader merge alice.json bob.json --db team.json`` brings them together so that
agreement can be measured and an adjudicated gold made.

Rules:

- Documents are matched by id (the hash of the text); a document the target lacks is
  added with the annotations.
- Annotator names are kept, except the unnamed ``default`` annotator, which takes the
  source file's stem (``alice.json`` → ``alice``).  ``rename`` (``--as NAME``) names a
  file's annotator explicitly: the file's ``default`` annotator, or its only one.
- A conflict is the same (document, annotator), already in the target or brought by an
  earlier file, with different content (spans, relations or status); identical
  content is left as it is.
- The label schemes are merged (union): a label the target lacks is added with its
  colour and key from the source; the same name with another colour or key, or a key
  another label already uses, is reported and the target's definition kept.  A label
  an annotation uses that no scheme defines is an error (unless ``add_labels``).
- With ``predictions``, extractor predictions come along too, with the same conflict
  rule per (document, extractor).
- All or nothing: any conflict or unknown label, and nothing is written; otherwise
  everything is written in one store transaction.  Sources are opened read-only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AnnotationsError
from .models import Annotation, Document, EntityLabel, LabelScheme, Prediction, RelationLabel
from .names import name_problem
from .store import DEFAULT_ANNOTATOR, GoldStore


class MergeError(AnnotationsError):
    """The merge was refused; nothing was written.  ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:30])
        more = f"\n  … and {len(problems) - 30} more" if len(problems) > 30 else ""
        super().__init__(f"{len(problems)} problem(s); nothing was merged:\n{shown}{more}")


@dataclass(frozen=True)
class MergeSource:
    path: Path
    rename: str | None = None
    """``--as NAME``: the name of the file's ``default`` (or only) annotator."""


@dataclass
class MergeReport:
    documents_added: int = 0
    annotations_added: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    predictions_added: Counter[str] = field(default_factory=Counter)
    labels_added: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per source file: its annotator names and the names they were merged under."""


def check_name(name: str, where: str) -> str:
    """An annotator name, by the one rule for names (:mod:`annotations.names`)."""
    problem = name_problem(name)
    if problem:
        raise MergeError([f"{where}: annotator name {name!r:.60} {problem}"])
    return name


def annotator_names(source: GoldStore, path: Path, rename: str | None) -> dict[str, str]:
    """How each annotator of ``source`` is named in the target (see the module rules)."""
    names = source.annotators()
    mapping = {name: name for name in names}
    if rename is not None:
        check_name(rename, f"{path}: --as")
        if DEFAULT_ANNOTATOR in names:
            mapping[DEFAULT_ANNOTATOR] = rename
        elif len(names) == 1:
            mapping[names[0]] = rename
        elif names:
            raise MergeError([f"{path}: has annotators {', '.join(names)} and none is "
                              f"{DEFAULT_ANNOTATOR!r}; --as names a file's only or default "
                              "annotator"])
    elif DEFAULT_ANNOTATOR in names:
        mapping[DEFAULT_ANNOTATOR] = check_name(path.stem, f"{path}: the file's stem")
    targets = Counter(mapping.values())
    clashes = sorted(n for n, count in targets.items() if count > 1)
    if clashes:
        raise MergeError([f"{path}: two annotators would both be named {clashes[0]!r}"])
    return mapping


def _content(record: Annotation | Prediction) -> dict[str, Any]:
    data = record.model_dump(mode="json", exclude={"created", "updated"})
    data["spans"] = sorted(data["spans"], key=lambda s: (s["start"], s["end"], s["label"]))
    data["relations"] = sorted(data["relations"], key=lambda r: (r["head"], r["child"],
                                                                 r["label"]))
    return data


def _describe(ann: Annotation) -> str:
    return f"{len(ann.spans)} span(s), {len(ann.relations)} relation(s), " \
           f"status {ann.status or 'open'}"


def _merge_scheme(scheme: LabelScheme, other: LabelScheme, path: Path,
                  warnings: list[str], added: list[str]) -> LabelScheme:
    entities = [label.model_copy() for label in scheme.entities]
    relations = [label.model_copy() for label in scheme.relations]
    groups: list[tuple[str, list[Any], list[Any]]] = [
        ("entity", entities, list(other.entities)),
        ("relation", relations, list(other.relations))]
    for kind, mine, theirs in groups:
        by_name: dict[str, Any] = {label.name: label for label in mine}
        keys = {label.key for label in mine if label.key}
        for label in theirs:
            known = by_name.get(label.name)
            if known is not None:
                if known != label:
                    warnings.append(f"{path}: {kind} label {label.name!r} is defined otherwise "
                                    f"there ({_definition(label)} instead of "
                                    f"{_definition(known)}); the target's is kept")
                continue
            copy = label.model_copy()
            if copy.key and copy.key in keys:
                warnings.append(f"{path}: {kind} label {label.name!r} uses key {label.key!r}, "
                                "which another label has; it is added without a key")
                copy = copy.model_copy(update={"key": None})
            if copy.key:
                keys.add(copy.key)
            mine.append(copy)
            by_name[copy.name] = copy
            added.append(f"{kind} {copy.name}")
    overlapping = scheme.overlapping or other.overlapping
    if overlapping and not scheme.overlapping:
        warnings.append(f"{path}: its layers may hold overlapping spans; the merged store "
                        "allows them too")
    return LabelScheme(entities=entities, relations=relations, overlapping=overlapping)


def _definition(label: EntityLabel | RelationLabel) -> str:
    if isinstance(label, EntityLabel):
        return f"key {label.key}, colour {label.colour}"
    return (f"key {label.key}, heads {', '.join(label.heads) or 'any'}, children "
            f"{', '.join(label.children) or 'any'}")


@dataclass
class MergePlan:
    """What a merge would write, and every reason not to."""

    documents: list[Document] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    scheme: LabelScheme = field(default_factory=LabelScheme)
    problems: list[str] = field(default_factory=list)
    report: MergeReport = field(default_factory=MergeReport)


def plan_merge(
    target: GoldStore | None, sources: Sequence[MergeSource], *, predictions: bool = False,
    add_labels: bool = False, target_path: Path | None = None,
) -> MergePlan:
    """Read every source (read-only) and work out the merge into ``target`` (``None``: a
    store that does not exist yet, at ``target_path``)."""
    plan = MergePlan(scheme=target.labels if target is not None else LabelScheme())
    report = plan.report
    where = target_path or (target.path if target is not None else None)
    target_resolved = Path(where).resolve() if where is not None else None
    seen_paths: set[Path] = set()
    incoming: dict[tuple[str, str], tuple[Annotation, Path]] = {}
    incoming_preds: dict[tuple[str, str], tuple[Prediction, Path]] = {}
    new_docs: dict[str, Document] = {}
    for source_spec in sources:
        path = source_spec.path
        resolved = path.resolve()
        if resolved == target_resolved:
            plan.problems.append(f"{path}: is the target store itself")
            continue
        if resolved in seen_paths:
            plan.problems.append(f"{path}: given twice")
            continue
        seen_paths.add(resolved)
        with GoldStore(path, read_only=True) as source:
            try:
                names = annotator_names(source, path, source_spec.rename)
            except MergeError as err:
                plan.problems += err.problems
                continue
            report.names[str(path)] = names
            plan.scheme = _merge_scheme(plan.scheme, source.labels, path, report.warnings,
                                        report.labels_added)
            for ann in source.annotations():
                ann = ann.model_copy(update={"annotator": names[ann.annotator]})
                _take_document(source, ann.doc_id, target, new_docs)
                ident = (ann.doc_id, ann.annotator)
                earlier = incoming.get(ident)
                if earlier is not None:
                    if _content(earlier[0]) != _content(ann):
                        plan.problems.append(
                            f"{path}: document {ann.doc_id}, annotator {ann.annotator!r}: "
                            f"differs from the one in {earlier[1]} ({_describe(ann)} vs "
                            f"{_describe(earlier[0])})")
                    continue
                incoming[ident] = (ann, path)
                old = target.annotation(*ident) if target is not None else None
                if old is None:
                    plan.annotations.append(ann)
                    report.annotations_added[ann.annotator] += 1
                elif _content(old) == _content(ann):
                    report.unchanged += 1
                else:
                    plan.problems.append(
                        f"{path}: document {ann.doc_id}, annotator {ann.annotator!r}: the "
                        f"target already has a different annotation ({_describe(old)} there, "
                        f"{_describe(ann)} here); rename this file's annotator with --as")
            if predictions:
                for doc_id in source.document_ids():
                    for name, pred in source.predictions(doc_id).items():
                        _take_document(source, doc_id, target, new_docs)
                        ident = (doc_id, name)
                        earlier_pred = incoming_preds.get(ident)
                        if earlier_pred is not None:
                            if _content(earlier_pred[0]) != _content(pred):
                                plan.problems.append(
                                    f"{path}: document {doc_id}, extractor {name!r}: differs "
                                    f"from the prediction in {earlier_pred[1]}")
                            continue
                        incoming_preds[ident] = (pred, path)
                        old_pred = (target.prediction(doc_id, name) if target is not None
                                    else None)
                        if old_pred is None:
                            plan.predictions.append(pred)
                            report.predictions_added[name] += 1
                        elif _content(old_pred) != _content(pred):
                            plan.problems.append(
                                f"{path}: document {doc_id}, extractor {name!r}: the target "
                                "already has a different prediction")
    plan.documents = list(new_docs.values())
    report.documents_added = len(new_docs)
    if not add_labels:
        known_entities = set(plan.scheme.entity_names)
        known_relations = set(plan.scheme.relation_names)
        layers: list[Annotation | Prediction] = [*plan.annotations, *plan.predictions]
        unknown = sorted({s.label for layer in layers for s in layer.spans} - known_entities)
        unknown_rel = sorted({r.label for layer in layers for r in layer.relations}
                             - known_relations)
        for kind, names_missing in (("entity", unknown), ("relation", unknown_rel)):
            if names_missing:
                plan.problems.append(
                    f"unknown {kind} label(s) {', '.join(names_missing)}: in no label scheme; "
                    "pass --add-labels to add them")
    else:
        before = set(plan.scheme.entity_names) | set(plan.scheme.relation_names)
        layers = [*plan.annotations, *plan.predictions]
        plan.scheme = plan.scheme.with_entities(
            sorted({s.label for layer in layers for s in layer.spans})
        ).with_relations(sorted({r.label for layer in layers for r in layer.relations}))
        report.labels_added += [f"{name} (used, in no scheme)" for name in
                                [*plan.scheme.entity_names, *plan.scheme.relation_names]
                                if name not in before]
    return plan


def _take_document(source: GoldStore, doc_id: str, target: GoldStore | None,
                   new_docs: dict[str, Document]) -> None:
    if doc_id in new_docs or (target is not None and target.has_document(doc_id)):
        return
    new_docs[doc_id] = source.document(doc_id)


def apply_merge(target: GoldStore, plan: MergePlan) -> MergeReport:
    """Write a plan without problems in one transaction."""
    if plan.problems:
        raise MergeError(plan.problems)
    try:
        target.save_annotations(plan.annotations, documents=plan.documents,
                                labels=plan.scheme, predictions=plan.predictions)
    except ValueError as err:
        raise MergeError([f"{target.path}: {err}"]) from None
    return plan.report


def merge_stores(
    target_path: Path, sources: Sequence[MergeSource], *, predictions: bool = False,
    add_labels: bool = False,
) -> MergeReport:
    """Merge ``sources`` into the store at ``target_path`` (created if missing), all or
    nothing: on any problem :class:`MergeError` lists them all and nothing is written
    (a missing target is not created)."""
    if not target_path.exists():
        plan = plan_merge(None, sources, predictions=predictions, add_labels=add_labels,
                          target_path=target_path)
        if plan.problems:
            raise MergeError(plan.problems)
    with GoldStore(target_path) as target:
        plan = plan_merge(target, sources, predictions=predictions, add_labels=add_labels)
        return apply_merge(target, plan)
