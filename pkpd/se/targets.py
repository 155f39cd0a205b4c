"""The SE model's clinical targets, read from ``validation_targets.toml`` beside this module.

The file was committed before the calibration it governs. A *calibration* target may set parameters; a
*validation* target never does, and is only compared with the frozen model.

Examples
--------
>>> from pkpd.se.targets import load_targets, FREE_PARAMETERS
>>> targets = load_targets()
>>> sum(t.kind == "calibration" for t in targets) > len(FREE_PARAMETERS)
True
>>> next(t for t in targets if t.id == "VA_PHENOBARBITAL").value
0.582
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Target", "load_targets", "FREE_PARAMETERS", "KINDS"]

KINDS = ("calibration", "validation")


@dataclass(frozen=True)
class Target:
    """One clinical number: what it measures, its value (or range), its source, and whether it is fitted."""

    id: str
    kind: str
    quantity: str
    source: str
    value: object = None
    value_range: tuple | None = None
    unit: str = "fraction"
    arm: str = ""
    n: int | None = None
    tolerance_pp: float | None = None
    note: str = ""


def _read() -> dict:
    text = resources.files(__package__).joinpath("validation_targets.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=1)
def load_targets() -> tuple[Target, ...]:
    """Every target of ``validation_targets.toml``, in file order."""
    out = []
    for entry in _read()["target"]:
        entry = dict(entry)
        if "value_range" in entry:
            entry["value_range"] = tuple(entry["value_range"])
        if isinstance(entry.get("value"), list):
            entry["value"] = tuple(entry["value"])
        out.append(Target(**entry))
    return tuple(out)


#: The parameters the SE calibration may fit (all others come from sources or are fixed assumptions).
FREE_PARAMETERS: tuple[str, ...] = tuple(_read()["meta"]["free_parameters"])
