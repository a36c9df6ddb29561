"""A widget drawn as one row of text through the line API: the footer and the status
line, which change on most keys and must cost little to draw."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget


class OneRow(Widget):
    """Draws :meth:`row` as its first line and blanks below; the strip is built once per
    width and style, until :meth:`changed` says the row is different."""

    _strip: tuple[int, Style, Strip] | None = None

    def row(self, width: int) -> Text:
        """The row, ``width`` cells wide."""
        raise NotImplementedError

    def changed(self) -> None:
        """The row is different: build it again at the next draw."""
        self._strip = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        style = self.visual_style.rich_style  # cached, unlike Widget.rich_style
        if y != 0:
            return Strip.blank(width, style)
        cached = self._strip
        if cached is not None and cached[0] == width and cached[1] == style:
            return cached[2]
        strip = Strip(self.row(width).render(self.app.console)).apply_style(style) \
            .adjust_cell_length(width, style)
        self._strip = (width, style, strip)
        return strip
