"""The annotator's configuration file: keymap and extra labels.

Looked up at ``--config PATH``, else ``$READER_ANNOTATOR_CONFIG``, else
``~/.config/reader-annotator/config.toml`` (or ``config.json``).  Shape::

    bulk_confirm = false          # true: accepting confirms unreviewed suggestions in bulk

    [keymap]                      # binding id = "key[,key...]"
    label-picker = "L"
    undo = "ctrl+z"

    [[entities]]                  # extra entity labels (name, optional key and colour)
    name = "PRODUCT_LINE"
    key = "0"

    [[relations]]                 # relation labels; empty heads/children = any label
    name = "works_for"
    key = "w"
    heads = ["PERSON"]
    children = ["ORG"]

    [[relations]]                 # symmetric: no direction (A -> B is B -> A), and
    name = "met"                  # scoring and agreement ignore direction for it
    key = "t"
    heads = ["PERSON"]
    children = ["PERSON"]
    symmetric = true
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from annotations.default_labels import DEFAULT_ENTITIES, DEFAULT_RELATIONS
from annotations.errors import InputError
from annotations.models import EntityLabel, LabelScheme, RelationLabel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads JSON configs, or TOML when tomli is present
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

CONFIG_ENV = "READER_ANNOTATOR_CONFIG"

# DEFAULT_ENTITIES and DEFAULT_RELATIONS (annotations/default_labels.py, where a new
# store's labels come from too) are offered when the store has no labels yet.


class AnnotatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keymap: dict[str, str] = Field(default_factory=dict)
    entities: list[EntityLabel] = Field(default_factory=list)
    relations: list[RelationLabel] = Field(default_factory=list)
    # Accepting a document confirms its unreviewed suggestions in bulk without asking
    # (Prodigy's behaviour); by default the annotator asks first.
    bulk_confirm: bool = False

    def apply_labels(self, scheme: LabelScheme) -> LabelScheme:
        """``scheme`` plus the configured labels (a configured label replaces its namesake)."""
        if not scheme.entities and not self.entities:
            scheme = scheme.with_entities(DEFAULT_ENTITIES)
        names = {label.name for label in self.entities}
        entities = [e for e in scheme.entities if e.name not in names] + list(self.entities)
        configured = {label.name for label in self.relations}
        relations = [r for r in scheme.relations if r.name not in configured] + list(self.relations)
        if not relations:
            relations = [r.model_copy() for r in DEFAULT_RELATIONS]
        # Keys taken by a configured label are freed on the others, so the scheme stays valid.
        taken = {label.key for label in self.entities if label.key}
        entities = [e if e.name in names or e.key not in taken
                    else e.model_copy(update={"key": None}) for e in entities]
        taken = {label.key for label in self.relations if label.key}
        relations = [r if r.name in configured or r.key not in taken
                     else r.model_copy(update={"key": None}) for r in relations]
        return LabelScheme(entities=entities, relations=relations,
                           overlapping=scheme.overlapping)


def default_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    folder = base / "reader-annotator"
    json_path = folder / "config.json"
    return json_path if json_path.exists() else folder / "config.toml"


def load_config(path: Path | None = None) -> AnnotatorConfig:
    """Read the config file; a missing default file is an empty config, a bad one an error."""
    explicit = path is not None
    path = path or default_path()
    if not path.exists():
        if explicit:
            raise InputError(path, "no such config file")
        return AnnotatorConfig()
    raw = path.read_bytes()
    data: Any
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            if tomllib is None:
                raise InputError(path, "TOML needs Python 3.11 or `pip install tomli`; "
                                       "or write the config as JSON")
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot parse: {err}") from None
    try:
        return AnnotatorConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(path, f"{where}: {first['msg']}") from None
