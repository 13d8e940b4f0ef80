"""A QR code drawn in the terminal with half blocks: two modules per cell row.

Light modules are drawn in white on black (▀ ▄ █ and space, all in the Linux
console's own font), so the code has its usual polarity (dark modules on a
light quiet zone) whatever the theme, and a 16-colour console shows it as bright
white on black. ``qr_lines`` is what the widget draws; tests measure it.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

#: At most this many cell rows (the enrollment screen at 80x24: the banner and this).
MAX_ROWS = 22
#: The quiet zone, in modules: 2 when it fits, else 1 (phones read either on a dark screen).
BORDERS = (2, 1)
_STYLE = Style(color="#ffffff", bgcolor="#000000")


def qr_matrix(data: str, border: int) -> list[list[bool]]:
    """Rows of modules, True = dark, with ``border`` light modules around."""
    import segno

    code = segno.make(data, error="L", micro=False, boost_error=False)
    return [[bool(module) for module in row] for row in code.matrix_iter(scale=1, border=border)]


def qr_lines(data: str, max_rows: int = MAX_ROWS) -> list[str]:
    """The code as lines of half blocks, with the widest quiet zone that fits ``max_rows``."""
    for border in BORDERS:
        matrix = qr_matrix(data, border)
        if (len(matrix) + 1) // 2 <= max_rows:
            break
    lines = []
    for top in range(0, len(matrix), 2):
        upper = matrix[top]
        lower = matrix[top + 1] if top + 1 < len(matrix) else [True] * len(upper)
        lines.append("".join(_cell(not a, not b) for a, b in zip(upper, lower, strict=True)))
    return lines


def _cell(upper_light: bool, lower_light: bool) -> str:
    if upper_light and lower_light:
        return "█"
    if upper_light:
        return "▀"
    if lower_light:
        return "▄"
    return " "


class QrCode(Static):
    DEFAULT_CSS = """
    QrCode { width: auto; height: auto; background: #000000; color: #ffffff; }
    """

    def __init__(self, data: str, **kwargs: object) -> None:
        self.lines = qr_lines(data)
        super().__init__(Text("\n".join(self.lines), style=_STYLE, no_wrap=True), **kwargs)  # type: ignore[arg-type]
