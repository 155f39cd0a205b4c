"""Text that is safe to show on a terminal: control characters escaped.

A column name, a TOML key or a cell value can hold escape sequences (``ESC [2J`` clears the screen, others
retitle the terminal or hide text) or bidirectional overrides that reorder what is shown. Messages that echo
user input pass it through :func:`escape_controls` so the terminal shows them as text.

Examples
--------
>>> escape_controls("DV\\x1b[2J")
'DV\\\\x1b[2J'
>>> escape_controls("line one\\nline two", keep="\\n")
'line one\\nline two'
>>> escape_controls("abc\\u202edef")
'abc\\\\u202edef'
"""

from __future__ import annotations

import math
import re

import numpy as np

from .numbers import MAX_EXACT_INT

__all__ = ["escape_controls", "show", "where"]

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text (bidi overrides
# and isolates, zero-width joiners, line/paragraph separators, BOM).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with every control or reordering character (except those in ``keep``) as ``\\xNN``/``\\uNNNN``."""

    def escape(match: re.Match) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(escape, str(text))


def show(value) -> str:
    """A value as it would appear in the data: 5, 2.5, 'abc', '.' (missing).

    >>> show(5.0), show(2.5), show("abc"), show(float("nan"))
    ('5', '2.5', "'abc'", "'.' (missing)")
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "'.' (missing)"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v) and v == int(v) and abs(v) < MAX_EXACT_INT:
            return str(int(v))
        return repr(v)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(value)


def where(source: str | None, line) -> str:
    """``"file.csv line 7"`` for a record read from a file, ``"row 7"`` for a DataFrame row (1-based)."""
    return f"{source} line {int(line)}" if source else f"row {int(line)}"
