"""Errors that name the file, the line or record, and the reason."""

from __future__ import annotations

from pathlib import Path


class AnnotationsError(Exception):
    """Base class of every error the annotations package raises on purpose."""


class InputError(AnnotationsError):
    """Bad input: names the file, the line (or record) and the reason."""

    def __init__(self, path: str | Path | None, reason: str, line: int | None = None,
                 record: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.record = record
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where += f", line {self.line}"
        if self.record is not None:
            where += f", {self.record}"
        return f"{where}: {self.reason}"


class InputErrors(AnnotationsError):
    """Several input errors found in one command; nothing was imported."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        shown = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} error(s); nothing was imported:\n{shown}{more}")


class StoreError(AnnotationsError):
    """The gold store cannot be opened or written."""


class StoreCorruptError(StoreError):
    """The store file or its journal is damaged; it was left untouched."""


class RecordRefusedError(StoreError):
    """An edit would store a record that a later read refuses; nothing was saved."""


class StoreLockedError(StoreError):
    """Another process holds the store open for writing."""


class ReadOnlyStoreError(StoreError):
    """A write was attempted on a store opened read-only."""


class StoreIdentityError(StoreCorruptError):
    """The journal beside the main file belongs to another store or another generation."""


class FormatError(AnnotationsError):
    """What is to be exported is more than the format can hold (nested spans in CoNLL)."""


class OutputError(AnnotationsError):
    """An output path that the tool refuses to write (the store's own file, a folder, a
    FIFO or device, a read-only file)."""


class NotFoundError(AnnotationsError, KeyError):
    """A document, annotation, prediction or extractor that the store does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"
