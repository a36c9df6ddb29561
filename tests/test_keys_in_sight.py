"""The keys that matter in sight at 80x24: keys named as a person types them, the footer
in each screen's priority order (whole keys only, drawn with the first frame), and help
as one table that fits 80x24 in two screens, from the live keymap."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from textual.binding import Binding

from annotations.models import Document, EntityLabel, LabelScheme, Prediction, Span
from annotations.store import GoldStore
from reader.app import make_app
from reader.bindings import (
    ADJUDICATE_BINDINGS,
    ADJUDICATE_FOOTER,
    ANNOTATE_BINDINGS,
    ANNOTATE_FOOTER,
    REVIEW_BINDINGS,
    REVIEW_FOOTER,
)
from reader.config import AnnotatorConfig
from reader.screens.help import HelpTable, annotate_help_rows, help_rows, keys_text
from reader.screens.key_footer import KeyFooter, key_name
from reader.screens.status_line import Notice, StatusLine, status_row

# Rows of the help box at 80x24 (24 less its border), and its widest text (80 less the
# border, the padding and the scrollbar).
HELP_ROWS_80x24 = 22
HELP_WIDTH_80 = 74


@pytest.mark.parametrize(("key", "typed"), [
    ("less_than_sign", "<"), ("greater_than_sign", ">"), ("shift+right", "Shift+→"),
    ("ctrl+z", "Ctrl+Z"), ("question_mark", "?"), ("slash", "/"), ("equals_sign", "="),
    ("right_square_bracket", "]"), ("f1", "F1"), ("C", "C"), ("alt+left", "Alt+←"),
    ("pagedown", "PgDn"), ("shift+tab", "Shift+Tab"), ("ctrl+home", "Ctrl+Home"),
])
def test_keys_are_named_as_a_person_types_them(key: str, typed: str) -> None:
    assert key_name(key) == typed


def test_every_footer_id_is_a_key_of_its_screen() -> None:
    for footer, bindings in ((ANNOTATE_FOOTER, ANNOTATE_BINDINGS),
                             (REVIEW_FOOTER, REVIEW_BINDINGS),
                             (ADJUDICATE_FOOTER, ADJUDICATE_BINDINGS)):
        ids = [b.id for b in bindings]
        assert set(footer) <= set(ids) and len(set(footer)) == len(footer)


def help_lines(rows: list[tuple[str, str, str, str]], width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(HelpTable(rows))
    return console.export_text().rstrip("\n").splitlines()


def test_help_fits_80x24_in_two_screens_with_keys_as_typed() -> None:
    scheme = LabelScheme(entities=[EntityLabel(name=name, key=str((i + 1) % 10)) for i, name
                                   in enumerate(["PERSON", "ORG", "GPE", "LOC", "DATE", "NORP",
                                                 "FAC", "EVENT", "PRODUCT", "MONEY"])])
    for rows in (annotate_help_rows(lambda b: b.key, scheme),
                 help_rows(REVIEW_BINDINGS, lambda b: b.key),
                 help_rows(ADJUDICATE_BINDINGS, lambda b: b.key)):
        lines = help_lines(rows, HELP_WIDTH_80)
        assert len(lines) <= 2 * HELP_ROWS_80x24
        text = "\n".join(lines)
        assert "_sign" not in text and "less_than" not in text and "shift+" not in text
    text = "\n".join(help_lines(annotate_help_rows(lambda b: b.key, scheme), HELP_WIDTH_80))
    assert "Alt+←/< Alt+→/>" in text and "Shift+→ Shift+←" in text and "u/Ctrl+Z" in text
    # Wide enough, each row also says the binding id that [keymap] remaps.
    assert "select-start-left" in "\n".join(
        help_lines(annotate_help_rows(lambda b: b.key, scheme), 116))


def test_help_shows_the_keys_the_user_set() -> None:
    keymap = {"undo": "z", "select-start-left": "comma"}

    def keys_of(binding: Binding) -> str:
        return keymap.get(binding.id or "", binding.key)

    rows = {row[3]: keys_text(row[0]) for row in help_rows(ANNOTATE_BINDINGS, keys_of)}
    assert rows["undo"] == "z"
    assert rows["select-start-left select-start-right"] == ", Alt+→/>"


def test_a_notice_never_hides_the_start_of_the_status() -> None:
    from rich.text import Text

    account = Text("12 unreviewed · GPE 'Tajikistan' 120-130  changed (spacy@3)")
    notice = Text("deleted ORG 'University of Dushanbe' and 1 relation, a long notice")
    for width in (40, 78, 118):
        row = status_row(account, notice, width)
        assert row.cell_len <= width and row.plain.startswith("12 unreviewed")
    assert status_row(account, Text("'Tajikistan' NORP → GPE"), 118).plain.endswith(
        "'Tajikistan' NORP → GPE")
    assert status_row(account, None, 118).plain == account.plain


@pytest.fixture
def store(tmp_path: Path):
    text = "Dushanbe hosted the CSTO summit. Tajikistan sent envoys.\n"
    with GoldStore(tmp_path / "gold.json") as store:
        doc = Document.from_text(text)
        store.add_documents([doc])
        store.set_labels(LabelScheme(entities=[EntityLabel(name="GPE", key="1"),
                                               EntityLabel(name="ORG", key="2")]))
        store.put_predictions([Prediction(doc_id=doc.id, extractor="m@1", spans=[
            Span(start=0, end=8, label="GPE", source="m@1", state="suggested")])])
        yield store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_footer_is_drawn_with_the_first_frame_in_priority_order(
        store: GoldStore) -> None:
    app = make_app(store, load_model=False, config=AnnotatorConfig(keymap={"find": "ctrl+f"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        # Before any key: the eight most wanted keys, whole, the user's find key among them.
        assert footer.render().plain == (" ? Help  q Quit  c Confirm  a Accept  l Label…  "
                                         "r Relation  u Undo  Ctrl+F Find")
        assert [entry[3] for entry in footer.entries][:8] == [True] * 6 + [False, True]
        await pilot.click(KeyFooter, offset=(footer.render().plain.index("c Confirm"), 0))
        await pilot.pause()
        assert Notice("confirmed GPE 'Dushanbe'") in app.notices
        # The notices of one key are shown together; the next key's replace them.
        assert str(app.screen.query_one(StatusLine).notice) == (
            "confirmed GPE 'Dushanbe' · No unreviewed suggestion left in this document")
        await pilot.press("u")
        line = app.screen.query_one(StatusLine)
        assert str(line.notice) == "undo: unconfirmed GPE 'Dushanbe'"
        # A key that moves the selection says nothing: the account of what the next key
        # acts on gets the whole row back, before the notice's time is up.
        await pilot.press("right")
        await pilot.pause()
        assert line.notice is None
        assert line.render().plain.rstrip() == str(line.account)


def test_a_notice_with_no_screen_shown_is_kept(store: GoldStore) -> None:
    app = make_app(store, load_model=False)  # not running: no screen
    app.notify("said before the app runs")
    assert list(app.notices) == [Notice("said before the app runs")]
