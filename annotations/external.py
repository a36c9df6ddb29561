"""Extractors that are not spaCy pipelines: an external command, or a Python plugin.

The protocol (the same for both)
--------------------------------
Documents go out as JSON objects, one per line (JSONL)::

    {"id": "3f2a...", "text": "The Taliban said ...", "meta": {"title": "..."}}

and one prediction per document comes back, one per line, in any order::

    {"id": "3f2a...",
     "spans": [{"start": 4, "end": 11, "label": "ORG"},       # offsets (end exclusive)
               {"text": "Taliban", "label": "ORG"},           # or just the string
               {"text": "Kabul", "label": "GPE", "hint": 120}],  # optional hint offset
     "relations": [{"head": 0, "child": 2, "label": "located_in"}]}

A relation names its spans by their index in ``spans`` (or by ``[start, end]``
offsets).  Spans given as strings are placed on the text by
:func:`annotations.grounding.align_strings` (exact, then ignoring case and accents,
then fuzzy; repeated strings by the chosen policy); strings that cannot be placed are
counted as ungrounded in ``Prediction.meta["grounding"]``, and a relation with an
ungrounded end is counted there too (``relations_dropped``).

- **Command** (``reader extract --command "CMD ..." --extractor NAME``; the command
  line is split as a shell would (``shlex``) but not run through a shell): each batch of
  documents is written to the command's standard input, the command runs until it
  exits, and its standard output is read as the predictions of that batch (one
  process per batch, so a crash or a hang costs one batch and is reported as such).
  A non-zero exit, a timeout, a line that is not JSON or not a prediction, an id
  that was not sent, an id answered twice or a document not answered stops the run
  with one line naming the batch, the output line and the reason; predictions of
  the batches before it are kept.
- **Plugin**: a package declares an entry point in the group ``reader.extractors``::

      [project.entry-points."reader.extractors"]
      my-llm = "my_package.module:make_extractor"

  ``make_extractor()`` returns an object with a ``name`` (the extractor id under
  which predictions are stored, e.g. ``"my-llm@2026-11"``) and a method
  ``predict(batch: list[dict]) -> Iterable[dict]`` taking the document objects above
  and returning prediction objects as above.  ``reader extract --plugin my-llm``.
"""

from __future__ import annotations

import json
import os
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import IO, Any, Protocol

from .errors import AnnotationsError
from .formats.base import batched
from .grounding import FUZZY_THRESHOLD, POLICIES, StringSpan, align_strings
from .layer import SpanRef, is_flat
from .models import Prediction, Relation, Span, check_layer

ENTRY_POINT_GROUP = "reader.extractors"
DEFAULT_TIMEOUT = 300.0
"""Seconds one batch may take before the command is stopped."""
MAX_OUTPUT = 256 * 10**6
"""Bytes of output one batch may give before the command is stopped (predictions are
a small fraction of the text sent; this is far above any honest answer)."""


class ExtractorOutputError(AnnotationsError):
    """An external extractor failed or answered something that is not a prediction."""


MAX_NAME = 100


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a label or extractor name, or None: names are shown in
    terminals and reports, so they are printable, without whitespace, and short."""
    if not value:
        return "is empty"
    if len(value) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if not value.isprintable() or any(c.isspace() for c in value):
        return f"{value!r} has whitespace or control characters"
    return None


Item = tuple[str, str, dict[str, Any]]
"""``(doc_id, text, meta)``."""


class PluginExtractor(Protocol):
    """What an entry point of ``reader.extractors`` returns."""

    name: str

    def predict(self, batch: list[dict[str, Any]]) -> Iterable[dict[str, Any]]: ...


@dataclass
class OutputParser:
    """Turns protocol output objects into validated predictions (see the module docstring)."""

    extractor: str
    policy: str = "first"
    threshold: float = FUZZY_THRESHOLD

    def __post_init__(self) -> None:
        problem = name_problem(self.extractor)
        if problem:
            raise AnnotationsError(f"extractor name {problem}")
        if self.policy not in POLICIES:
            raise AnnotationsError(f"unknown alignment policy {self.policy!r}; choose one of "
                                   f"{', '.join(POLICIES)}")

    def parse_batch(
        self, batch: Sequence[Item], records: Iterable[tuple[str, Any]],
    ) -> list[Prediction]:
        """``records``: ``(where, object)`` pairs, ``where`` naming the output line."""
        texts = {doc_id: text for doc_id, text, _ in batch}
        out: dict[str, Prediction] = {}
        for where, record in records:
            if not isinstance(record, dict):
                raise ExtractorOutputError(f"{where}: expected a JSON object with \"id\" and "
                                           f"\"spans\", got {type(record).__name__}")
            doc_id = record.get("id")
            if not isinstance(doc_id, str) or doc_id not in texts:
                raise ExtractorOutputError(
                    f"{where}: id {doc_id!r} is not one of the {len(texts)} document(s) sent "
                    "in this batch")
            if doc_id in out:
                raise ExtractorOutputError(f"{where}: document {doc_id} answered twice")
            out[doc_id] = self.prediction(doc_id, texts[doc_id], record, where)
        missing = [doc_id for doc_id in texts if doc_id not in out]
        if missing:
            raise ExtractorOutputError(
                f"no prediction for {len(missing)} of the {len(texts)} document(s) of the "
                f"batch (first: {missing[0]})")
        return [out[doc_id] for doc_id, _, _ in batch]

    def prediction(self, doc_id: str, text: str, record: dict[str, Any],
                   where: str) -> Prediction:
        raw_spans = record.get("spans", [])
        raw_relations = record.get("relations", [])
        if not isinstance(raw_spans, list) or not isinstance(raw_relations, list):
            raise ExtractorOutputError(f"{where}: \"spans\" and \"relations\" must be lists")
        placed: list[tuple[int, int, str]] = []
        # Per given span, for relations: (start, end, label), which names it among spans
        # at the same offsets.
        positions: list[tuple[int, int, str] | None] = []
        strings: list[tuple[int, StringSpan]] = []
        for index, raw in enumerate(raw_spans):
            if not isinstance(raw, dict) or not isinstance(raw.get("label"), str) \
                    or not raw["label"]:
                raise ExtractorOutputError(f"{where}: span {index}: needs a \"label\" string "
                                           "and either \"start\"/\"end\" or \"text\"")
            problem = name_problem(raw["label"])
            if problem:
                raise ExtractorOutputError(f"{where}: span {index}: label {problem}")
            if "start" in raw or "end" in raw:
                start, end = raw.get("start"), raw.get("end")
                if not (isinstance(start, int) and isinstance(end, int)
                        and 0 <= start < end <= len(text)):
                    raise ExtractorOutputError(
                        f"{where}: span {index}: offsets {start!r}-{end!r} are not inside the "
                        f"text (length {len(text)}) with start < end")
                placed.append((start, end, raw["label"]))
                positions.append((start, end, raw["label"]))
            elif isinstance(raw.get("text"), str):  # an empty one is counted ungrounded
                hint = raw.get("hint")
                strings.append((index, StringSpan(raw["text"], raw["label"],
                                                  hint if isinstance(hint, int) else None)))
                positions.append(None)
            else:
                raise ExtractorOutputError(f"{where}: span {index}: neither offsets nor a "
                                           "\"text\" string")
        meta: dict[str, Any] = {}
        if strings:
            grounding = align_strings(text, [s for _, s in strings], policy=self.policy,
                                      threshold=self.threshold,
                                      taken=[(s, e) for s, e, _ in placed])
            for (index, given), where_placed in zip(strings, grounding.placed, strict=True):
                positions[index] = (*where_placed[0], given.label) if where_placed else None
            placed.extend(grounding.spans)
            meta["grounding"] = grounding.to_meta()
        spans = [Span(start=s, end=e, label=label, source=self.extractor, state="suggested")
                 for s, e, label in sorted(placed)]
        relations, dropped = self._relations(raw_relations, positions, where)
        # Named by (start, end, label) where spans overlap, by (start, end) where flat.
        if is_flat(spans):
            relations = [Relation(head=r.head[:2], child=r.child[:2], label=r.label)
                         for r in relations]
        if dropped:
            meta.setdefault("grounding", {})["relations_dropped"] = dropped
        try:
            # Predictions may nest and overlap (the store keeps them so, and they are scored).
            check_layer(text, spans, relations, overlapping=True)
        except ValueError as err:
            raise ExtractorOutputError(f"{where}: {err}") from None
        return Prediction(doc_id=doc_id, extractor=self.extractor, spans=spans,
                          relations=relations, meta=meta)

    @staticmethod
    def _relations(raw_relations: list[Any], positions: list[tuple[int, int, str] | None],
                   where: str) -> tuple[list[Relation], int]:
        relations: list[Relation] = []
        dropped = 0
        for index, raw in enumerate(raw_relations):
            if not isinstance(raw, dict) or not isinstance(raw.get("label"), str):
                raise ExtractorOutputError(f"{where}: relation {index}: needs \"head\", "
                                           "\"child\" and a \"label\" string")
            problem = name_problem(raw["label"])
            if problem:
                raise ExtractorOutputError(f"{where}: relation {index}: label {problem}")
            ends: list[SpanRef | None] = []
            for name in ("head", "child"):
                ref = raw.get(name)
                if isinstance(ref, int) and not isinstance(ref, bool):
                    if not 0 <= ref < len(positions):
                        raise ExtractorOutputError(f"{where}: relation {index}: {name} {ref} "
                                                   f"is not a span index (0-{len(positions) - 1})")
                    ends.append(positions[ref])
                elif isinstance(ref, list) and len(ref) == 2 and all(
                        isinstance(x, int) for x in ref):
                    ends.append((ref[0], ref[1]))
                else:
                    raise ExtractorOutputError(f"{where}: relation {index}: {name} must be a "
                                               "span index or [start, end]")
            head, child = ends
            if head is None or child is None:
                dropped += 1  # an end was a string that could not be placed
                continue
            relations.append(Relation(head=head, child=child, label=raw["label"]))
        return relations, dropped


@dataclass
class CommandExtractor:
    """An external program speaking the JSONL protocol on stdin/stdout, one run per batch."""

    command: str
    name: str
    timeout: float = DEFAULT_TIMEOUT
    max_output: int = MAX_OUTPUT
    policy: str = "first"
    threshold: float = FUZZY_THRESHOLD

    @property
    def id(self) -> str:
        return self.name

    @property
    def labels(self) -> list[str]:
        return []  # unknown until it answers; the store adds the labels it uses

    def predict(self, items: Iterable[Item], batch_size: int = 64) -> Iterator[Prediction]:
        parser = OutputParser(self.name, self.policy, self.threshold)
        argv = shlex.split(self.command)
        if not argv:
            raise ExtractorOutputError("--command is empty")
        for number, batch in enumerate(batched(items, batch_size), 1):
            yield from parser.parse_batch(batch, self._run(argv, batch, number))

    def _run(self, argv: list[str], batch: list[Item],
             number: int) -> Iterator[tuple[str, Any]]:
        payload = "".join(json.dumps({"id": d, "text": t, "meta": m}, ensure_ascii=False) + "\n"
                          for d, t, m in batch)
        label = f"command {self.command!r}, batch {number}"
        run = CommandRun(argv, label, {doc_id for doc_id, _, _ in batch},
                         self.timeout, self.max_output)
        yield from run.records(payload.encode("utf-8"))


class CommandRun:
    """One batch through an external command, in its own process group.

    The batch is written to its standard input (from a thread, so that a command that
    answers before it has read everything cannot deadlock), standard output is read
    line by line as it comes.  The run is over when the command has exited and either
    its output reached end of file or every document sent has been answered (a worker
    it left behind may hold the output open: it is not waited for).  On a timeout, or
    more than ``max_output`` bytes of output, the whole process group is killed."""

    def __init__(self, argv: list[str], label: str, ids: set[str], timeout: float,
                 max_output: int) -> None:
        self.argv = argv
        self.label = label
        self.ids = ids
        self.timeout = timeout
        self.max_output = max_output

    def records(self, payload: bytes) -> Iterator[tuple[str, Any]]:
        try:
            process = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
        except OSError as err:
            raise ExtractorOutputError(
                f"{self.label}: cannot run: {err.strerror or err}") from None
        stderr = bytearray()
        threads = [threading.Thread(target=_feed, args=(process.stdin, payload), daemon=True),
                   threading.Thread(target=_drain, args=(process.stderr, stderr),
                                    daemon=True)]
        for thread in threads:
            thread.start()
        try:
            lines = self._read(process)
        except BaseException:
            _kill_group(process)
            raise
        finally:
            assert process.stdout is not None
            process.stdout.close()
        threads[1].join(1.0)
        if process.returncode != 0:
            tail = bytes(stderr).decode("utf-8", "replace").strip().splitlines()
            raise ExtractorOutputError(
                f"{self.label}: exited with status {process.returncode}"
                + (f" ({tail[-1][:300]})" if tail else ""))
        for line_number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            yield f"{self.label}, output line {line_number}", self._parse(line, line_number)

    def _read(self, process: subprocess.Popen[bytes]) -> list[bytes]:
        """Standard output's lines, once the run is over (see the class)."""
        assert process.stdout is not None
        deadline = time.monotonic() + self.timeout
        fd = process.stdout.fileno()
        lines: list[bytes] = []
        pending = bytearray()
        size = 0
        answered: set[str] = set()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    _kill_group(process)
                    raise ExtractorOutputError(
                        f"{self.label}: no answer within {self.timeout:g} s (raise "
                        "--timeout, or send smaller batches with --batch-size)")
                if process.poll() is not None and answered >= self.ids:
                    return lines  # everything answered; a leftover worker holds stdout
                if not selector.select(min(left, 0.05)):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    if pending:
                        lines.append(bytes(pending))
                    try:
                        process.wait(max(deadline - time.monotonic(), 0))
                    except subprocess.TimeoutExpired:
                        continue  # the deadline check above reports it
                    return lines
                size += len(chunk)
                if size > self.max_output:
                    _kill_group(process)
                    raise ExtractorOutputError(
                        f"{self.label}: more than {self.max_output / 1e6:g} MB of output "
                        "(stopped; a command answers one line per document sent)")
                pending += chunk
                *complete, rest = pending.split(b"\n")
                pending = bytearray(rest)
                for line in map(bytes, complete):
                    lines.append(line)
                    answered.update(_answer_id(line))

    def _parse(self, line: bytes, line_number: int) -> Any:
        where = f"{self.label}, output line {line_number}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ExtractorOutputError(f"{where}: not UTF-8 ({err.reason} at byte "
                                       f"{err.start})") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ExtractorOutputError(f"{where}: not JSON ({err.msg} at column "
                                       f"{err.colno})") from None
        except RecursionError:
            raise ExtractorOutputError(f"{where}: JSON nested too deeply to read") from None


def _answer_id(line: bytes) -> set[str]:
    """The id a complete output line answers (empty when it is not a prediction: the
    parser reports that once the run is over)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return set()
    doc_id = record.get("id") if isinstance(record, dict) else None
    return {doc_id} if isinstance(doc_id, str) else set()


def _feed(stream: IO[bytes] | None, payload: bytes) -> None:
    if stream is None:
        return
    try:
        stream.write(payload)
    except (BrokenPipeError, ValueError, OSError):
        pass  # the command stopped reading: its exit status or output says why
    finally:
        try:
            stream.close()
        except OSError:
            pass


def _drain(stream: IO[bytes] | None, into: bytearray, keep: int = 1 << 16) -> None:
    """Read ``stream`` to its end, keeping its last ``keep`` bytes."""
    if stream is None:
        return
    try:
        while chunk := os.read(stream.fileno(), 1 << 16):
            into += chunk
            del into[:-keep]
    except (OSError, ValueError):
        pass
    finally:
        stream.close()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the command and every process it started in its group, and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass


def plugin_names() -> list[str]:
    return sorted(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))


@dataclass
class EntryPointExtractor:
    """A plugin registered under the ``reader.extractors`` entry point group."""

    plugin: PluginExtractor
    entry: str
    policy: str = "first"
    threshold: float = FUZZY_THRESHOLD

    @property
    def id(self) -> str:
        return str(self.plugin.name)

    @property
    def labels(self) -> list[str]:
        return list(getattr(self.plugin, "labels", []) or [])

    def predict(self, items: Iterable[Item], batch_size: int = 64) -> Iterator[Prediction]:
        parser = OutputParser(self.id, self.policy, self.threshold)
        for number, batch in enumerate(batched(items, batch_size), 1):
            documents = [{"id": d, "text": t, "meta": m} for d, t, m in batch]
            answers = self.plugin.predict(documents)
            where = f"plugin {self.entry!r}, batch {number}, answer"
            yield from parser.parse_batch(
                batch, ((f"{where} {i}", a) for i, a in enumerate(answers, 1)))


def load_plugin(name: str, *, policy: str = "first",
                threshold: float = FUZZY_THRESHOLD) -> EntryPointExtractor:
    """The extractor a package registered as ``name`` in ``reader.extractors``."""
    found = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = ", ".join(plugin_names()) or "none installed"
        raise AnnotationsError(f"no extractor plugin {name!r} in the entry point group "
                               f"{ENTRY_POINT_GROUP!r} (installed: {known})")
    try:
        factory: Callable[[], PluginExtractor] = found[0].load()
        plugin = factory()
    except Exception as err:  # a third-party package: report, never a traceback
        raise AnnotationsError(f"extractor plugin {name!r} ({found[0].value}) failed to "
                               f"load: {type(err).__name__}: {err}") from None
    if not isinstance(getattr(plugin, "name", None), str) or not callable(
            getattr(plugin, "predict", None)):
        raise AnnotationsError(f"extractor plugin {name!r} must return an object with a "
                               "`name` string and a `predict(batch)` method")
    problem = name_problem(plugin.name)
    if problem:
        raise AnnotationsError(f"extractor plugin {name!r}: its name {problem}")
    return EntryPointExtractor(plugin, name, policy, threshold)
