"""Reading raw articles: .txt/.md files, folders and JSONL; every bad input named with
its file, line and reason; offsets stay code points through the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tinydb import TinyDB

from annotations.articles import read_articles, read_text_file
from annotations.errors import InputError
from annotations.store import GoldStore

ARTICLE = "# Harbour reopens\n\nThe port of Valmont reopened on Tuesday, officials said.\n"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def only_error(paths: list[Path]) -> InputError:
    result = read_articles(paths)
    assert result.documents == [] and len(result.errors) == 1, result.errors
    return result.errors[0]


def test_a_text_file_is_one_article_titled_by_its_first_line(tmp_path: Path) -> None:
    doc = read_text_file(write(tmp_path / "harbour.md", ARTICLE))
    assert doc.text == ARTICLE
    assert doc.meta["title"] == "Harbour reopens"
    assert doc.meta["source"] == str(tmp_path / "harbour.md")


def test_crlf_and_lone_cr_become_lf_and_give_the_same_document(tmp_path: Path) -> None:
    crlf = read_text_file(write(tmp_path / "a.txt", ARTICLE.replace("\n", "\r\n").encode()))
    cr = read_text_file(write(tmp_path / "b.txt", ARTICLE.replace("\n", "\r").encode()))
    lf = read_text_file(write(tmp_path / "c.txt", ARTICLE))
    assert crlf.text == cr.text == lf.text == ARTICLE
    assert crlf.id == cr.id == lf.id


def test_not_utf8_is_rejected_naming_file_line_and_byte(tmp_path: Path) -> None:
    path = write(tmp_path / "latin.txt", "Line one\nCaf\xe9 Valmont\n".encode("latin-1"))
    error = only_error([path])
    assert error.path == str(path) and error.line == 2
    assert "not UTF-8" in str(error) and "0xe9" in str(error)


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    error = only_error([path])
    assert error.path == str(path) and "binary" in error.reason


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t\n", b"\xef\xbb\xbf"])
def test_empty_file_is_rejected(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path / "empty.txt", content)
    error = only_error([path])
    assert error.path == str(path) and "empty" in error.reason


def test_utf8_bom_is_not_part_of_the_text(tmp_path: Path) -> None:
    doc = read_text_file(write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + ARTICLE.encode()))
    assert doc.text == ARTICLE


def jsonl(path: Path, *lines: str) -> Path:
    return write(path, "".join(line + "\n" for line in lines))


def test_jsonl_keeps_meta_and_extra_keys_and_skips_blank_lines(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "news.jsonl",
        json.dumps({"text": "First story.", "meta": {"url": "https://e.test/1"}, "lang": "en"}),
        "",
        json.dumps({"text": "Second\r\nstory.", "meta": {"title": "Two"}}),
    )
    result = read_articles([path])
    assert result.errors == []
    first, second = result.documents
    assert first.meta["url"] == "https://e.test/1" and first.meta["lang"] == "en"
    assert first.meta["source"] == f"{path}:1"
    assert second.text == "Second\nstory." and second.meta["title"] == "Two"
    assert second.meta["source"] == f"{path}:3"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('["a list"]', "expected a JSON object, got list"),
        ('"just a string"', "expected a JSON object, got str"),
        ("42", "expected a JSON object, got int"),
        ('{"meta": {}}', 'no "text" field'),
        ('{"text": 7}', '"text" is not a string'),
        ('{"text": "   "}', 'empty "text"'),
        ('{"text": "ok", "meta": []}', '"meta" is not an object'),
        ('{"text": "unterminated', "invalid JSON"),
        ('{"text": "bad \\ud800 surrogate"}', "unpaired surrogate"),
    ],
)
def test_a_bad_jsonl_line_is_named_with_its_line_number(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = jsonl(tmp_path / "in.jsonl", json.dumps({"text": "Fine story."}), line)
    result = read_articles([path])
    assert [d.text for d in result.documents] == ["Fine story."]
    (error,) = result.errors
    assert (error.path, error.line) == (str(path), 2)
    assert reason in error.reason


def test_jsonl_with_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", b'{"text": "ok"}\n{"text": "Caf\xe9"}\n')
    error = only_error_of(path)
    assert error.line == 2 and "not UTF-8" in error.reason


def only_error_of(path: Path) -> InputError:
    (error,) = read_articles([path]).errors
    return error


def test_folders_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "b" / "two.txt", "Two.")
    write(tmp_path / "a" / "z.md", "One.")
    write(tmp_path / "a" / "three.jsonl", json.dumps({"text": "Zero."}) + "\n")
    write(tmp_path / ".hidden" / "secret.txt", "Hidden.")
    write(tmp_path / "notes.pdf", b"%PDF")
    result = read_articles([tmp_path])
    assert result.errors == []
    assert [d.text for d in result.documents] == ["Zero.", "One.", "Two."]
    assert result.skipped == [tmp_path / "notes.pdf"]


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    error = only_error([tmp_path / "nope.txt"])
    assert "no such file" in error.reason


def test_the_same_text_twice_is_one_document_in_the_store(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt", ARTICLE)
    write(tmp_path / "in" / "b.txt", ARTICLE.replace("\n", "\r\n").encode())
    jsonl(tmp_path / "in" / "c.jsonl", json.dumps({"text": ARTICLE}))
    result = read_articles([tmp_path / "in"])
    assert len(result.documents) == 3 and len({d.id for d in result.documents}) == 1
    with GoldStore(tmp_path / "gold.json") as store:
        added = store.add_documents(result.documents)
        assert len(added.added) == 1 and len(added.present) == 2
        again = store.add_documents(read_articles([tmp_path / "in" / "a.txt"]).documents)
        assert again.added == [] and len(store) == 1


def test_emoji_cjk_and_combining_marks_keep_their_offsets_through_the_store(
    tmp_path: Path,
) -> None:
    text = "👩🏽‍💻 Zoe\u0301 met 王小明 in 東京 🇯🇵, then Ana\r\nflew home."
    path = jsonl(tmp_path / "in.jsonl", json.dumps({"text": text}, ensure_ascii=False))
    (doc,) = read_articles([path]).documents
    stored_text = text.replace("\r\n", "\n")
    assert doc.text == stored_text
    words = ["Zoe\u0301", "王小明", "東京", "Ana", "home"]
    offsets = {w: (doc.text.index(w), doc.text.index(w) + len(w)) for w in words}
    with GoldStore(tmp_path / "gold.json") as store:
        store.add_documents([doc])
    with TinyDB(tmp_path / "gold.json", access_mode="r") as db:
        (record,) = db.table("documents").all()
    for word, (start, end) in offsets.items():
        assert record["text"][start:end] == word
    assert offsets["Ana"] == (stored_text.index("Ana"), stored_text.index("Ana") + 3)


def test_annotated_jsonl_read_as_articles_is_flagged(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "tasks.jsonl",
        '{"text": "Ada Lovelace wrote.", "spans": [{"start": 0, "end": 12, "label": "PERSON"}]}',
        '{"text": "No annotations here."}',
    )
    result = read_articles([path])
    assert not result.errors and len(result.documents) == 2
    assert result.annotated == {path: 1}
