"""The one writer for every file the tool writes: store checkpoints, exports, reports.

Every output is written to a temporary file beside its target, fsynced and renamed
over it, so a crash or a full disk leaves the old file or the new one, never half of
one.  Before that, :func:`output_target` decides what may be replaced:

* a symlink is followed: its target is replaced and the link stays a link;
* a folder, a FIFO, a device or a socket is refused, never replaced by a file;
* a gold store's own files (the main file, its journal and lock, of any store open
  in this process or given in ``protected``) are refused as an output;
* a read-only file (no write bit) is refused rather than rewritten;
* the replaced file's mode and, where the process may set it, its owner are kept.

An error while writing (a full disk, a read-only filesystem) is raised as the
``OSError`` it is, but naming the file asked for, never the temporary file or
nothing.  A folder of files (brat, sharded spaCy) is written the same way with
:func:`replacing_folder`: into a temporary folder first, moved into place only
when every file is written.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

NEW_FILE_MODE = 0o644
JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"

# The files of every gold store open in this process (main, journal, lock), resolved.
_STORE_FILES: dict[Path, int] = {}


def protect(paths: Iterable[Path]) -> None:
    """Refuse ``paths`` as outputs until :func:`unprotect` (a store calls this at open)."""
    for path in paths:
        real = Path(os.path.realpath(path))
        _STORE_FILES[real] = _STORE_FILES.get(real, 0) + 1


def unprotect(paths: Iterable[Path]) -> None:
    for path in paths:
        real = Path(os.path.realpath(path))
        count = _STORE_FILES.get(real, 0) - 1
        if count > 0:
            _STORE_FILES[real] = count
        else:
            _STORE_FILES.pop(real, None)


def store_files(path: Path) -> list[Path]:
    """The files a gold store at ``path`` owns: the main file, its journal and lock."""
    return [path, path.with_name(path.name + JOURNAL_SUFFIX),
            path.with_name(path.name + LOCK_SUFFIX)]


def _same_file(info: os.stat_result, other: Path) -> bool:
    """Whether ``other`` is the file ``info`` describes (a hard link, a bind mount)."""
    try:
        theirs = os.stat(other)
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) == (info.st_dev, info.st_ino)


def output_target(path: str | os.PathLike[str], *, protected: Iterable[Path] = (),
                  store_file: bool = False) -> Path:
    """The real file that writing ``path`` replaces, or an :class:`OutputError` saying
    why it may not be.  ``store_file`` is set by the store for its own main file."""
    given = Path(path)
    real = Path(os.path.realpath(given))
    try:
        info: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise OutputError(f"{given}: cannot write there ({err.strerror})") from None
    if not store_file:
        owned = {Path(os.path.realpath(q)) for p in protected for q in store_files(Path(p))}
        owned.update(_STORE_FILES)
        for own in owned:
            if real == own or (info is not None and _same_file(info, own)):
                raise OutputError(
                    f"{given}: this is the gold store's own file ({own.name}); "
                    "choose another output path"
                )
    if info is None:
        return real
    kind = file_kind(info.st_mode)
    if kind:
        raise OutputError(f"{given}: is {kind}, not a regular file; refusing to replace it")
    if not info.st_mode & 0o222:
        raise OutputError(
            f"{given}: the file is read-only (mode {stat.S_IMODE(info.st_mode):04o}); "
            "refusing to rewrite it (make it writable, or choose another path)"
        )
    return real


def file_kind(mode: int) -> str:
    """What a non-regular file is ("a folder", "a FIFO (named pipe)", ...), or ""."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def fsync_dir(path: Path) -> None:
    """Make the folder's entries (a new or renamed file) survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def _naming(err: OSError, given: str | os.PathLike[str]) -> OSError:
    """``err`` as raised by writing a temporary file (or with no file at all, as a
    full disk's write is), naming the file the caller asked for instead."""
    if err.errno is None:
        return err
    named = type(err)(err.errno, err.strerror, os.fspath(given))
    named.__cause__ = err.__cause__
    return named


def _take_over(fd: int, target: Path) -> None:
    """Give the temporary file the mode and owner of the file it replaces."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return
    os.fchmod(fd, stat.S_IMODE(info.st_mode))
    if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, info.st_uid, info.st_gid)
        except PermissionError:
            pass  # only root may give a file away; the file becomes the writer's


WRITE_SIZE = 1 << 20
"""Chunks are gathered into writes of about this many bytes: a store's file is written a
record (a few KB) at a time, and a system call per record was most of the system time
of writing a large store (measured: 50,000 writes for a 10,000-document store)."""


def write_chunks(fd: int, chunks: Iterable[bytes]) -> None:
    """Write every byte of ``chunks`` to ``fd``, small ones gathered into writes of
    about :data:`WRITE_SIZE`."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= WRITE_SIZE:
            _write_all(fd, b"".join(pending) if len(pending) > 1 else pending[0])
            pending, size = [], 0
    if pending:
        _write_all(fd, b"".join(pending) if len(pending) > 1 else pending[0])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomically(path: str | os.PathLike[str], data: bytes | Iterable[bytes], *,
                     protected: Iterable[Path] = (), store_file: bool = False,
                     sync: bool = True, before_rename: Callable[[int], None] | None = None
                     ) -> Path:
    """Replace the file at ``path`` (see :func:`output_target`) with ``data``: temporary
    file, fsync, rename, fsync the folder.  Returns the file replaced.

    ``sync=False`` skips the fsyncs (exports of thousands of small files): the rename
    still never shows half a file, but a power cut may lose the new one.
    ``before_rename`` is called with the written file's descriptor before it takes the
    name (the store locks its new main file so, before anyone can open it)."""
    target = output_target(path, protected=protected, store_file=store_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, NEW_FILE_MODE)
    except OSError as err:
        raise _naming(err, path) from None
    try:
        try:
            _take_over(fd, target)
            # ``data`` whole, or in chunks (the store writes its file record by record).
            write_chunks(fd, [data] if isinstance(data, bytes) else data)
            if sync:
                os.fsync(fd)
            if before_rename is not None:
                before_rename(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as err:
        # A full disk must not leave a half-written copy of the whole file behind.
        tmp.unlink(missing_ok=True)
        raise _naming(err, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        fsync_dir(target.parent)
    return target


DROP_STEP = 32 << 20
"""A streamed output hands the kernel its pages this many bytes at a time (see
:class:`_WrittenOnce`)."""


class _WrittenOnce(io.FileIO):
    """A file this process writes front to back and does not read back (an export).

    Every :data:`DROP_STEP` bytes it asks the kernel (``posix_fadvise`` DONTNEED) to
    start writing out the pages written since the last step, and to drop from the page
    cache those it started writing out a step before.  A 5 GB export then holds about
    two steps of the page cache rather than 5 GB of it, evicting nothing else, and
    reuses those pages: writing 6 GB took 8.6 to 12 s of system time filling the cache
    and 2.0 s so (measured on this project's 2-core VM).  Where the call does not exist
    or fails, the file is written as any other."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd, "w", closefd=True)
        self._written = self._started = self._dropped = 0
        self._advise = getattr(os, "posix_fadvise", None)

    def write(self, data: Any) -> int:
        written: int = super().write(data)  # type: ignore[assignment]
        self._written += written
        if self._advise is not None and self._written - self._started >= DROP_STEP:
            try:
                self._advise(self.fileno(), self._dropped, self._written - self._dropped,
                             os.POSIX_FADV_DONTNEED)
            except OSError:
                self._advise = None  # advice only: never a reason to fail the output
            self._dropped, self._started = self._started, self._written
        return written


@contextmanager
def replacing(path: str | os.PathLike[str], mode: str = "w", *,
              protected: Iterable[Path] = (), sync: bool = False) -> Iterator[IO[Any]]:
    """A file object whose contents replace ``path`` when the block ends without error
    (the same checks as :func:`write_atomically`, for streamed output; no fsync unless
    ``sync``).  What is written is not kept in the page cache (see :class:`_WrittenOnce`)."""
    target = output_target(path, protected=protected)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, NEW_FILE_MODE)
    except OSError as err:
        raise _naming(err, path) from None
    try:
        _take_over(fd, target)
        with _file_object(_WrittenOnce(fd), mode) as fh:
            try:
                yield fh
            except OSError as err:
                # The caller's writes to ``fh`` (a full disk names no file); an error
                # naming a file of its own is the caller's, and passes as it is.
                if err.filename is None:
                    raise _naming(err, path) from None
                raise
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        if err.filename in (None, str(tmp)):
            raise _naming(err, path) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    if sync:
        fsync_dir(target.parent)


def _file_object(raw: io.FileIO, mode: str) -> IO[Any]:
    """What ``open(fd, mode)`` gives (``mode`` is "w" or "wb"), over ``raw``."""
    buffered = io.BufferedWriter(raw)
    if "b" in mode:
        return buffered
    return io.TextIOWrapper(buffered, encoding="utf-8", newline="")


@contextmanager
def replacing_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A new, empty folder to write files into; when the block ends without error
    they are moved into ``path`` (which is made if missing; files already there and
    not written again are left alone).  On an error nothing of the export is left:
    neither the temporary folder nor a partial ``path``.  Each file moved into an
    existing folder passes :func:`output_target` first (all of them before any is
    moved)."""
    given = Path(path)
    folder = Path(os.path.realpath(given))
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{given}: is a file; this format writes a folder there")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tmp.mkdir()
    except OSError as err:
        raise _naming(err, given) from None
    try:
        try:
            yield tmp
        except OSError as err:
            if err.filename is None or str(err.filename).startswith(str(tmp)):
                raise _naming(err, given / Path(err.filename).name
                              if err.filename else given) from None
            raise
        try:
            if not folder.exists():
                os.rename(tmp, folder)
                return
            names = sorted(os.listdir(tmp))
            targets = [output_target(folder / name) for name in names]
            for name, target in zip(names, targets, strict=True):
                os.replace(tmp / name, target)
        except OSError as err:
            raise _naming(err, given) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | os.PathLike[str], text: str, *,
               protected: Iterable[Path] = (), sync: bool = False) -> Path:
    """:func:`write_atomically` for text, as UTF-8 with the line endings as given (no
    fsync unless ``sync``: for exports)."""
    return write_atomically(path, text.encode("utf-8"), protected=protected, sync=sync)
