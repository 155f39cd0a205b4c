"""What the commands share: markdown tables, unit labels, and matplotlib on the file-only Agg backend."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

__all__ = ["markdown_table"]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def markdown_table(frame: pd.DataFrame, index: bool = False) -> str:
    """A GitHub-flavoured markdown table of ``frame`` (floats to 4 significant digits).

    >>> print(markdown_table(pd.DataFrame({"ID": [1], "CMAX": [10.51234]})))
    | ID | CMAX |
    |---|---|
    | 1 | 10.51 |
    """
    if index:
        frame = frame.reset_index()
    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _agg():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _unit_label(model, name: str) -> str:
    from ..engine import output_units

    try:
        unit = output_units(model, [name]).get(name, "")
    except Exception:                                   # pragma: no cover - unusual models
        unit = ""
    return f"{name} ({unit or 'dimensionless'})"
