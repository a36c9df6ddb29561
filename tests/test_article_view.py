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
        # The view rewraps when its resize reaches it, on the screen's next refresh:
        # Pilot's idle wait can end before that, so wait for the rewrap itself (a few
        # frames at most).
        for _ in range(100):
            await pilot.pause()
            if len(line_texts(view)) < narrow:
                break
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


async def test_hints_take_cells_of_their_own_and_cover_no_text_or_tag() -> None:
    text = "Alpha met Beta in Gamma.\n"
    # Two spans starting together each get their own hint, by name.
    spans = [DisplaySpan(0, 5, " P", name="alpha"), DisplaySpan(10, 14, " P", name="beta"),
             DisplaySpan(10, 23, " E", name="beta-gamma")]
    app = ViewApp(text, spans)
    async with app.run_test(size=(60, 6)):
        view = app.query_one(ArticleView)
        view.set_hints({"beta": "a", "beta-gamma": "sd"})
        assert rendered(view, 0).startswith("Alpha P met Beta P[a] in Gamma E[sd].")
        # The cells count: the cursor still finds "in" after the hint.
        assert view.offset_at_column(0, view.column_of(text.index("in"))) == text.index("in")
        view.set_hints({})
        assert rendered(view, 0).startswith("Alpha P met Beta P in Gamma E.")


async def test_hints_wrap_as_the_words_they_follow() -> None:
    text = "aa bb cc dd\n"
    app = ViewApp(text, [DisplaySpan(6, 8, " X", name="cc")])
    async with app.run_test(size=(20, 6)):
        view = app.query_one(ArticleView)
        assert view.scrollable_content_region.width == 16
        assert [text[a:b] for a, b in view._lines] == ["aa bb cc dd", ""]  # 13 cells
        view.set_hints({"cc": "ab"})
        # "aa bb cc X[ab] dd" is 17 cells: "dd" goes to the next line.
        assert [text[a:b] for a, b in view._lines] == ["aa bb cc ", "dd", ""]
        assert rendered(view, 0).rstrip() == "aa bb cc X[ab]"


async def test_edge_marks_nest_and_keep_each_tag_next_to_its_own_mark() -> None:
    text = "The Tajik National University said the CSTO summit.\n"
    spans = [DisplaySpan(4, 29, " ORG"), DisplaySpan(4, 9, " NORP"), DisplaySpan(39, 43, " ORG"),
             DisplaySpan(39, 50, " EVENT"), DisplaySpan(39, 50, " MISC")]
    app = ViewApp(text, spans)
    async with app.run_test(size=(100, 6)):
        view = app.query_one(ArticleView)
        assert rendered(view, 0).startswith(
            "The Tajik NORP National University ORG said the CSTO ORG summit MISC EVENT.")
        view.set_show_edges(True)
        assert rendered(view, 0).startswith(
            "The ⟦⟦Tajik⟧NORP National University⟧ORG said the "
            "⟦⟦⟦CSTO⟧ORG summit⟧MISC⟧EVENT.")
        # The marks take cells: offsets still map to the characters drawn.
        said = text.index("said")
        assert rendered(view, 0)[view.column_of(said):].startswith("said")
        assert view.offset_at_column(0, view.column_of(said)) == said
        # The cursor on "Tajik" lights up its marks and tag, not those of the span holding it.
        view.set_cursor(4, 9)
        segments = view._render_visual_line(0, view.scrollable_content_region.width)
        lit = [seg.text for seg in segments if seg.style and seg.style.reverse]
        assert lit == ["⟦", "Tajik", "⟧NORP"]


async def test_a_span_ending_in_newlines_still_shows_its_tag() -> None:
    text = "They met in Dushanbe\n\nThe next day.\n"
    start = text.index("Dushanbe")
    app = ViewApp(text, [DisplaySpan(start, start + len("Dushanbe\n\n"), " GPE")])
    async with app.run_test(size=(60, 6)):
        view = app.query_one(ArticleView)
        assert rendered(view, 0).startswith("They met in Dushanbe GPE")
