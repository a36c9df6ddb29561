"""A team folder: one store of documents and labels, and one store per annotator.

``reader serve --team DIR`` works on this layout::

    DIR/team.json          the team store: documents, label scheme, predictions
                           (made with ``reader import … --db DIR/team.json``,
                           optionally ``reader extract --db DIR/team.json``)
    DIR/NAME.json          each annotator's own store, made from team.json on first
                           use; NAME edits only this file, so nobody waits for anybody
    DIR/team-merged.json   every annotator's work merged (``reader merge``), for the
                           agreement report and adjudication

An annotator's store is topped up from the team store each time it is opened: new
documents, new labels and new predictions come in; nothing the annotator did is
touched.  This module never imports textual.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import AnnotationsError
from .merge import MergeReport, MergeSource, merge_stores
from .names import name_problem
from .store import GoldStore

TEAM_STORE = "team.json"
MERGED_STORE = "team-merged.json"
RESERVED = {Path(TEAM_STORE).stem, Path(MERGED_STORE).stem}
MAX_ANNOTATORS = 200
"""How many annotator stores a folder may hold before a new name is refused (a link
anyone can type must not fill the disk with files)."""


class TeamError(AnnotationsError):
    """A team folder that cannot be used, or a name that cannot be an annotator's."""


def name_key(name: str) -> str:
    """What two annotator names are compared on: ``Alice``, ``alice`` and ``ALICE`` (and
    ``Zoë`` typed either way) are one person, and one file on a case-insensitive disk."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def annotator_problem(name: str) -> str | None:
    """Why ``name`` cannot name an annotator of a team folder (it is also a file name
    there), or None."""
    problem = name_problem(name)
    if problem:
        return problem
    if "/" in name or "\\" in name or os.sep in name:
        return "must not contain a path separator"
    if name.startswith("."):
        return "must not start with a dot"
    if name != name.strip() or "  " in name:
        return "must not start or end with a space, nor hold two in a row"
    if name_key(name) in RESERVED:
        return f"is reserved for the team's own files ({TEAM_STORE}, {MERGED_STORE})"
    return None


@dataclass(frozen=True)
class TeamFolder:
    folder: Path

    @property
    def team_path(self) -> Path:
        return self.folder / TEAM_STORE

    @property
    def merged_path(self) -> Path:
        return self.folder / MERGED_STORE

    def check(self) -> None:
        """Refuse a folder without a team store, before anyone connects."""
        if not self.team_path.is_file():
            raise TeamError(
                f"{self.team_path}: no team store; import the team's articles first "
                f"(reader import ARTICLES --db {self.team_path})")
        with GoldStore(self.team_path, read_only=True) as team:
            if not len(team):
                raise TeamError(f"{self.team_path} holds no documents; import the team's "
                                f"articles first (reader import ARTICLES --db {self.team_path})")

    def annotator_path(self, name: str) -> Path:
        problem = annotator_problem(name)
        if problem:
            raise TeamError(f"annotator name {name!r:.80} {problem}")
        return self.folder / f"{name}.json"

    def annotators(self) -> list[str]:
        """Names of the annotators who have a store in the folder."""
        return sorted(p.stem for p in self.folder.glob("*.json")
                      if p.stem not in RESERVED and annotator_problem(p.stem) is None)

    def new_name_problem(self, name: str, limit: int = MAX_ANNOTATORS) -> str | None:
        """Why ``name`` may not start a new store here, or None (also None for a name
        that already has one): too like an existing annotator's name (the same but for
        case or spacing), or the folder already holds ``limit`` annotators."""
        problem = annotator_problem(name)
        if problem:
            return problem
        existing = self.annotators()
        if name in existing:
            return None
        key = name_key(name)
        twin = next((other for other in existing if name_key(other) == key), None)
        if twin is not None:
            return (f"is too like the existing annotator {twin!r} (names are compared "
                    "ignoring case and spacing); use that name")
        if len(existing) >= limit:
            return (f"would be a new annotator, and {self.folder} already holds {limit}, "
                    "the most this server accepts (--max-annotators)")
        return None

    def prepare(self, name: str) -> Path:
        """``DIR/NAME.json``, made or topped up from the team store.  Raises
        :class:`~annotations.errors.StoreLockedError` while NAME's store is open for
        writing elsewhere."""
        path = self.annotator_path(name)
        with GoldStore(path) as own, GoldStore(self.team_path, read_only=True) as team:
            scheme = own.labels
            known = {label.name for label in scheme.entities}
            known_relations = {label.name for label in scheme.relations}
            team_scheme = team.labels
            missing = [lab for lab in team_scheme.entities if lab.name not in known]
            missing_relations = [lab for lab in team_scheme.relations
                                 if lab.name not in known_relations]
            if missing or missing_relations:
                own.set_labels(scheme.model_copy(update={
                    "entities": [*scheme.entities, *missing],
                    "relations": [*scheme.relations, *missing_relations]}))
            own.add_documents(team.documents())
            fresh = [pred for doc_id in team.document_ids()
                     for name_, pred in team.predictions(doc_id).items()
                     if not own.has_prediction(doc_id, name_)]
            if fresh:
                own.put_predictions(fresh)
        return path

    def accepted(self, name: str) -> int:
        """How many documents ``name`` has accepted (read-only: the store may be open
        for writing in the annotator's session)."""
        path = self.annotator_path(name)
        if not path.exists():
            return 0
        with GoldStore(path, read_only=True) as store:
            return sum(1 for _ in store.gold_records(annotator=name))

    def merge(self, target: Path | None = None) -> MergeReport:
        """Every annotator's store merged into ``target`` (default ``team-merged.json``)."""
        sources = [MergeSource(self.annotator_path(name)) for name in self.annotators()]
        if not sources:
            raise TeamError(f"{self.folder}: no annotator has a store yet")
        return merge_stores(target or self.merged_path, sources)
