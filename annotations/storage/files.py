"""The store's files on disk: the lock, the journal and the main TinyDB file.

* ``FileLock``: an exclusive ``flock`` on ``gold.json.lock`` while a store is open
  for writing, holding a line that names the holder.
* ``Journal``: the append-only ``gold.json.journal``; each line is one transaction,
  ``crc32<TAB>json-list-of-ops<LF>``, fsynced before an edit returns.
* ``read_main``: the TinyDB file parsed and checked, or a clear error that leaves it
  untouched.  The file is only ever replaced with ``write_atomically``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import srsly
from tinydb.storages import Storage

from ..errors import StoreCorruptError, StoreError, StoreLockedError
from ..models import SCHEMA_VERSION, utc_now
from ..output import fsync_dir, write_atomically
from .tables import Op, Record

JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"


def inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


class FileLock:
    """One writer at a time: an exclusive ``flock`` on the store's lock file."""

    def __init__(self, lock_path: Path, store_path: Path) -> None:
        self.path = lock_path
        self.store_path = store_path
        self.fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise StoreError(
                f"{self.path}: cannot create the lock file ({err.strerror}); "
                "open the store read-only, or check the folder's permissions"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            finally:
                os.close(fd)
            raise StoreLockedError(
                f"{self.store_path} is open for writing by another process "
                f"({holder or 'holder unknown'}); close it there, or open this one read-only"
            ) from None
        holder = (
            f"pid {os.getpid()} on {socket.gethostname()}, "
            f"command {' '.join(sys.argv)[:200]!r}, since {utc_now()}"
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode("utf-8"), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def encode_line(ops: list[Op]) -> bytes:
    payload = srsly.json_dumps([[t, k, v] for t, k, v in ops]).encode("utf-8")
    return b"%08x\t%s\n" % (zlib.crc32(payload), payload)


def decode_line(line: bytes) -> list[Op] | None:
    """The ops of one journal line, or None if the line is damaged."""
    if not line.endswith(b"\n") or len(line) < 10 or line[8:9] != b"\t":
        return None
    payload = line[9:-1]
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    if zlib.crc32(payload) != crc:
        return None
    try:
        raw = json.loads(payload)
    except ValueError:
        return None
    return [(t, k, v) for t, k, v in raw]


class Journal:
    """The append-only journal beside the main file."""

    def __init__(self, path: Path, store_path: Path) -> None:
        self.path = path
        self.store_path = store_path
        self.fd: int | None = None
        self.size = 0  # bytes of whole, replayed or appended transactions

    def replay(self, apply: Callable[[str, str, Record | None], None], *, writable: bool) -> None:
        """Apply every transaction in the journal; cut a torn last line if ``writable``."""
        with open(self.path, "rb") as fh:
            lines = fh.readlines()
        good_bytes = 0
        for number, line in enumerate(lines, start=1):
            ops = decode_line(line)
            if ops is None:
                if number == len(lines):
                    # A torn last line is a write that never returned: drop it.
                    break
                raise StoreCorruptError(
                    f"{self.path}, line {number}: damaged journal entry (bad checksum "
                    "or JSON) before the end; nothing was changed. Move the journal aside to "
                    f"open {self.store_path} as of its last checkpoint"
                )
            for table, key, record in ops:
                apply(table, key, record)
            good_bytes += len(line)
        self.size = good_bytes
        if writable and good_bytes < sum(len(line) for line in lines):
            with open(self.path, "r+b") as fh:
                fh.truncate(good_bytes)
                os.fsync(fh.fileno())

    def open_for_append(self) -> None:
        new_journal = not self.path.exists()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if new_journal:
            # Edits fsync the journal's data; the folder entry needs its own fsync
            # to survive a power cut.
            fsync_dir(self.path.parent)

    def append(self, line: bytes) -> None:
        """Write one transaction line and fsync it; on failure nothing of it stays."""
        assert self.fd is not None
        view = memoryview(line)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except OSError as err:
            # A partial line left behind would make every later line unreadable
            # (a damaged line before the end); cut it off so the journal stays whole.
            os.ftruncate(self.fd, self.size)
            raise StoreError(
                f"{self.path}: could not save the edit ({err.strerror}); "
                "nothing of it was kept, earlier edits are safe"
            ) from err
        self.size += len(line)

    def empty(self) -> None:
        """Everything in the journal is in the main file now."""
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        os.fsync(self.fd)
        self.size = 0

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def read_main(path: Path) -> tuple[dict[str, dict[str, Record]], int]:
    """The tables of the main TinyDB file and its inode, checked to be a gold store."""
    try:
        with open(path, "rb") as fh:
            main_inode = os.fstat(fh.fileno()).st_ino
            raw = fh.read()
    except OSError as err:
        raise StoreError(f"{path}: cannot read: {err.strerror}") from None
    if not raw.strip():
        raise StoreCorruptError(
            f"{path}: the file is empty, not a gold store (left untouched); "
            "remove it or choose another --db path"
        )
    try:
        data = srsly.json_loads(raw)
    except ValueError as err:
        raise StoreCorruptError(
            f"{path}: not valid JSON ({err}); the file is truncated or damaged "
            "and was left untouched"
        ) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise StoreCorruptError(f"{path}: not a TinyDB file (left untouched)")
    meta = data.get("meta", {}).get("1")
    if not isinstance(meta, dict) or not isinstance(meta.get("schema_version"), int):
        raise StoreCorruptError(
            f"{path}: a TinyDB file but not a gold store (no schema version); left untouched"
        )
    if meta["schema_version"] > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer version (schema {meta['schema_version']}, "
            f"this one reads up to {SCHEMA_VERSION}); upgrade the reader"
        )
    return data, main_inode


def write_main(path: Path, tables: dict[str, dict[str, Record]]) -> None:
    write_atomically(path, srsly.json_dumps(tables).encode("utf-8"))


class AtomicJSONStorage(Storage):
    """A TinyDB storage that never rewrites the file in place.

    ``TinyDB(path, storage=AtomicJSONStorage)`` reads and writes the same files
    as the stock ``JSONStorage``, but a write goes to a temporary file that is
    fsynced and renamed over the old one, so a crash leaves the old or the new
    file, never half of one.
    """

    def __init__(self, path: str | os.PathLike[str], **_: Any) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        data = srsly.read_json(self.path)
        return data if isinstance(data, dict) else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        write_atomically(self.path, srsly.json_dumps(data).encode("utf-8"))

    def close(self) -> None:
        pass
