"""The entity list's length follows its rows without a layout of the whole screen
(``EntityList._set_row_count``): the scrollbar appears and goes, and the last row can be
scrolled to, as when ``virtual_size`` was set."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from annotations.models import Span
from reader.widgets.side_panel import EntityList

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


TEXT = "Alpha beta gamma. " * 40


def spans(count: int) -> list[Span]:
    return [Span(start=i * 18, end=i * 18 + 5, label="ORG") for i in range(count)]


class ListApp(App[None]):
    CSS = "EntityList { height: 10; }"

    def compose(self) -> ComposeResult:
        yield EntityList(id="entities")


async def test_the_list_scrolls_as_far_as_its_rows_as_they_grow_and_shrink() -> None:
    app = ListApp()
    async with app.run_test(size=(60, 20)) as pilot:
        entities = app.query_one(EntityList)
        entities.set_rows(spans(3), TEXT, {})
        await pilot.pause()
        assert not entities.show_vertical_scrollbar
        assert entities.max_scroll_y == 0

        grown = spans(30)
        entities.set_rows(grown, TEXT, {})  # same page: the edit path
        await pilot.pause()
        assert entities.show_vertical_scrollbar
        assert entities.virtual_size.height == 30
        assert entities.max_scroll_y == 30 - entities.scrollable_content_region.height

        entities.set_rows(grown[:25], TEXT, {})  # shorter, the scrollbar stays
        await pilot.pause()
        assert entities.max_scroll_y == 25 - entities.scrollable_content_region.height
        entities.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert entities.scroll_offset.y == entities.max_scroll_y

        entities.set_rows(grown[:2], TEXT, {})
        await pilot.pause()
        assert not entities.show_vertical_scrollbar
        assert entities.scroll_offset.y == 0
