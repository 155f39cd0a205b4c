"""HTML for notebook reprs: a value's fields as a small table, every piece of text escaped.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Point:
...     x: float
...     label: str
>>> print(fields_table(Point(1.5, "<a>")))
<b>Point</b><table><tr><th>x</th><td>1.5</td></tr><tr><th>label</th><td>&lt;a&gt;</td></tr></table>
"""

from __future__ import annotations

import dataclasses
import html

__all__ = ["fields_table", "rows_table"]


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return html.escape(str(value))


def fields_table(value, title: str | None = None, *, skip=()) -> str:
    """``<b>title</b>`` and one row per dataclass field of ``value`` (fields that are None are left out)."""
    rows = "".join(f"<tr><th>{html.escape(f.name)}</th><td>{_cell(getattr(value, f.name))}</td></tr>"
                   for f in dataclasses.fields(value)
                   if f.name not in skip and f.repr and getattr(value, f.name) is not None)
    return f"<b>{html.escape(title or type(value).__name__)}</b><table>{rows}</table>"


def rows_table(title: str, header, rows) -> str:
    """``<b>title</b>`` and a table with ``header`` and ``rows`` (sequences of cells)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<b>{html.escape(title)}</b><table><tr>{head}</tr>{body}</table>"
