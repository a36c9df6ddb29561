"""Outputs under faults: a full disk and a read-only filesystem (small tmpfs mounts made
for the test, where the machine allows mounting; skipped with the reason where not).

What must hold: the error names the file the user asked for (not a temporary file,
and not nothing), and nothing half-written is left behind (no temporary file, no
partial brat folder).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotations.models import Annotation, Document, LabelScheme, Span
from annotations.output import replacing, write_atomically
from annotations.store import GoldStore
from reader.cli import app

runner = CliRunner()


@contextmanager
def mounted(folder: Path, *options: str) -> Iterator[Path]:
    """A tmpfs of 64 KB at ``folder`` (made here), unmounted at the end; the test is
    skipped, with the reason, where mounting is not allowed."""
    folder.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(["size=64k", *options]),
                               f"reader-test-{uuid.uuid4().hex[:8]}", str(folder)],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"cannot mount a small tmpfs here ({err})")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=10)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted(tmp_path / "small") as folder:
        yield folder


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted(tmp_path / "readonly", "ro") as folder:
        yield folder


@pytest.fixture
def big_gold(tmp_path: Path) -> Path:
    """A store whose export is far larger than the 64 KB disk."""
    path = tmp_path / "gold.json"
    text = " ".join(f"Maria Keller met Aster Rail in Geneva {i}." for i in range(4000))
    document = Document.from_text(text)
    with GoldStore(path) as store:
        store.add_documents([document])
        store.set_labels(LabelScheme().with_entities(["PERSON", "ORG"]))
        store.save_annotation(Annotation(doc_id=document.id, annotator="ann", status="accept",
                                         spans=[Span(start=0, end=12, label="PERSON")]))
    return path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "lost+found")


@pytest.mark.parametrize("fmt", ["prodigy", "doccano", "conll"])
def test_an_export_on_a_full_disk_names_the_file_and_leaves_nothing(
        big_gold: Path, full_disk: Path, fmt: str) -> None:
    out = full_disk / f"gold.{fmt}"
    result = runner.invoke(app, ["export", "--db", str(big_gold), "-o", str(out),
                                 "--format", fmt])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit) or result.exception is None, (
        result.exception)
    message = " ".join(result.output.split())
    assert str(out) in message and "No space left on device" in message
    assert leftovers(full_disk) == []


def test_a_brat_export_on_a_full_disk_leaves_no_partial_folder(
        big_gold: Path, full_disk: Path) -> None:
    out = full_disk / "brat"
    result = runner.invoke(app, ["export", "--db", str(big_gold), "-o", str(out),
                                 "--format", "brat"])
    assert result.exit_code == 1
    assert "No space left on device" in result.output and str(out) in " ".join(
        result.output.split())
    assert leftovers(full_disk) == []


def test_a_brat_export_into_an_existing_folder_changes_nothing_there_when_it_fails(
        big_gold: Path, full_disk: Path) -> None:
    out = full_disk / "brat"
    out.mkdir()
    (out / "keep.txt").write_text("the user's own file")
    result = runner.invoke(app, ["export", "--db", str(big_gold), "-o", str(out),
                                 "--format", "brat"])
    assert result.exit_code == 1
    assert leftovers(full_disk) == ["brat"] and leftovers(out) == ["keep.txt"]


def test_a_report_on_a_full_disk_names_the_file(full_disk: Path) -> None:
    target = full_disk / "report.html"
    with pytest.raises(OSError) as err:
        write_atomically(target, b"x" * 200_000)
    assert err.value.filename == str(target)
    assert leftovers(full_disk) == []


def test_on_a_read_only_filesystem_the_error_names_the_target(read_only_disk: Path) -> None:
    target = read_only_disk / "gold.jsonl"
    with pytest.raises(OSError) as err:
        write_atomically(target, b"{}\n")
    assert err.value.filename == str(target)
    with pytest.raises(OSError) as err, replacing(target) as fh:
        fh.write("{}\n")
    assert err.value.filename == str(target)


def test_chunks_are_written_whole_when_gathered_into_large_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks are gathered into writes of about WRITE_SIZE bytes, a large one
    # goes alone; every byte arrives in order either way.
    import random

    from annotations import output

    monkeypatch.setattr(output, "WRITE_SIZE", 1000)
    rng = random.Random(4)
    chunks = [bytes([rng.randrange(256)]) * rng.choice([0, 1, 7, 300, 999, 1000, 4321])
              for _ in range(200)]
    target = write_atomically(tmp_path / "out.bin", iter(chunks))
    assert target.read_bytes() == b"".join(chunks)


def test_a_streamed_output_hands_its_pages_back_a_step_behind_and_writes_every_byte(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every DROP_STEP bytes: the pages written since the last step start their
    # writeback and those started a step earlier leave the page cache, so that the
    # advice covers the file front to back, each range once.
    import os
    import random

    from annotations import output

    monkeypatch.setattr(output, "DROP_STEP", 1000)
    advised: list[tuple[int, int]] = []

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        advised.append((offset, length))

    monkeypatch.setattr(os, "posix_fadvise", advise, raising=False)
    rng = random.Random(5)
    lines = [f"{i} {'é' * rng.randrange(300)}\n" for i in range(1000)]
    target = tmp_path / "out.jsonl"
    with replacing(target) as fh:  # text, buffered: what an export writes through
        for line in lines:
            fh.write(line)
    assert target.read_text(encoding="utf-8") == "".join(lines)
    ends = [offset + length for offset, length in advised]
    assert len(advised) >= 10 and ends == sorted(ends) and ends[-1] <= target.stat().st_size
    # Each range reaches from where the one two steps back ended to what is written.
    assert [offset for offset, _ in advised] == [0, 0, *ends[:-2]]


def test_a_streamed_output_is_written_whole_when_the_advice_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from annotations import output

    monkeypatch.setattr(output, "DROP_STEP", 100)
    calls: list[int] = []

    def refuse(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append(offset)
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "posix_fadvise", refuse, raising=False)
    data = [bytes([i]) * 77 for i in range(256)]
    target = tmp_path / "out.bin"
    with replacing(target, "wb") as fh:
        for chunk in data:
            fh.write(chunk)
    assert target.read_bytes() == b"".join(data)
    assert calls == [0]  # advice only: asked once, then no more
