"""ArticleView: wrapping, wide characters, escaped control characters, span updates."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.style import Style
from textual.app import App, ComposeResult

from reader.widgets.article_view import ArticleView, DisplaySpan, display_text

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class ViewApp(App[None]):
    def __init__(self, text: str, spans: list[DisplaySpan] | None = None) -> None:
        super().__init__()
        self.text = text
        self.spans = spans or []

    def compose(self) -> ComposeResult:
        yield ArticleView(self.text, self.spans)


def line_texts(view: ArticleView) -> list[str]:
    return [view.text[start:end] for start, end in view._lines]


def rendered(view: ArticleView, line: int) -> str:
    width = view.scrollable_content_region.width
    return view._render_visual_line(line, width).text


async def test_wraps_by_cells_keeps_paragraphs_and_rewraps_on_resize() -> None:
    text = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu\n\n"
            "second paragraph here\n")
    app = ViewApp(text)
    async with app.run_test(size=(30, 10)) as pilot:
        view = app.query_one(ArticleView)
        width = view.scrollable_content_region.width
        lines = line_texts(view)
        assert "" in lines  # the empty line between the paragraphs is kept
        assert "".join(lines) == text.replace("\n", "")
        assert all(cell_len(line.rstrip(" ")) <= width for line in lines)
        narrow = len(lines)
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert len(line_texts(view)) < narrow


async def test_wide_characters_take_two_cells_and_wrap_by_cells() -> None:
    text = "東京 大阪 名古屋 札幌 福岡 神戸 京都 横浜 🚀🚀 end\n"
    app = ViewApp(text)
    async with app.run_test(size=(22, 10)):
        view = app.query_one(ArticleView)
        width = view.scrollable_content_region.width
        for index, line in enumerate(line_texts(view)):
            assert cell_len(line.rstrip(" ")) <= width
            assert rendered(view, index).rstrip(" ") == line.rstrip(" ")
        # Column of an offset counts two cells per CJK character.
        assert view.column_of(text.index("大阪")) == 5
        assert view.offset_at_column(0, 6) == text.index("大阪")


async def test_control_characters_are_shown_escaped_and_offsets_kept() -> None:
    text = "plain \x1b[31mred\x1b[0m and [bold]markup[/bold] \x07 end\n"
    spans = [DisplaySpan(text.index("red"), text.index("red") + 3, " X", Style(bold=True))]
    app = ViewApp(text, spans)
    async with app.run_test(size=(80, 8)):
        view = app.query_one(ArticleView)
        shown = rendered(view, 0)
        assert "\x1b" not in shown and "\x07" not in shown
        assert "␛[31mred X␛[0m" in shown  # escaped, same length, tag after the span
        assert "[bold]markup[/bold]" in shown  # never parsed as markup
        assert len(display_text(text)) == len(text)


async def test_tags_count_in_wrapping_and_update_spans_matches_set_spans() -> None:
    words = [f"w{i:02d}" for i in range(60)]
    text = " ".join(words) + "\n"
    spans = [DisplaySpan(text.index(w), text.index(w) + 3, " LABEL", Style(bold=True))
             for w in words[::4]]
    app = ViewApp(text)
    async with app.run_test(size=(40, 20)) as pilot:
        view = app.query_one(ArticleView)
        plain_lines = len(view._lines)
        view.set_spans(spans)
        await pilot.pause()
        tagged = list(view._lines)
        assert len(tagged) > plain_lines  # tags take room, so the text wraps again
        width = view.scrollable_content_region.width
        for index in range(len(tagged)):
            assert cell_len(rendered(view, index).rstrip(" ")) <= width
        # Removing half and adding them back incrementally gives the same lines.
        view.update_spans(spans[::2], [])
        assert len(view.spans) == len(spans) - len(spans[::2])
        view.update_spans([], spans[::2])
        assert view._lines == tagged
        assert sorted(view.spans, key=lambda s: s.start) == spans


async def test_cursor_move_refreshes_only_the_lines_it_touches() -> None:
    text = "\n".join(f"line {i}" for i in range(30)) + "\n"
    app = ViewApp(text)
    async with app.run_test(size=(40, 20)) as pilot:
        view = app.query_one(ArticleView)
        await pilot.pause()
        refreshed: list[int] = []
        original = view.refresh_lines

        def spy(y_start: int, line_count: int = 1) -> None:
            refreshed.extend(range(y_start, y_start + line_count))
            original(y_start, line_count)

        view.refresh_lines = spy  # type: ignore[method-assign]
        view.set_cursor(text.index("line 3"), text.index("line 3") + 6)
        view.set_cursor(text.index("line 4"), text.index("line 4") + 6)
        assert sorted(set(refreshed)) == [3, 4]


async def test_hints_overlay_without_rewrapping() -> None:
    text = "Alpha met Beta in Gamma.\n"
    spans = [DisplaySpan(0, 5, " P"), DisplaySpan(10, 14, " P")]
    app = ViewApp(text, spans)
    async with app.run_test(size=(60, 6)):
        view = app.query_one(ArticleView)
        before = list(view._lines)
        view.set_hints({10: "a"})
        assert view._lines == before
        # The hint takes the tag's leading space: the article's text stays readable.
        assert rendered(view, 0).startswith("Alpha P met BetaaP in")


async def test_a_span_ending_in_newlines_still_shows_its_tag() -> None:
    text = "They met in Dushanbe\n\nThe next day.\n"
    start = text.index("Dushanbe")
    app = ViewApp(text, [DisplaySpan(start, start + len("Dushanbe\n\n"), " GPE")])
    async with app.run_test(size=(60, 6)):
        view = app.query_one(ArticleView)
        assert rendered(view, 0).startswith("They met in Dushanbe GPE")
