"""The TOML of a scenario file, and its values read with their place in the file.

:func:`read_toml` (a file) and :func:`_parse_text` (text) give the document within the file limits
(:data:`MAX_FILE_BYTES` of text, arrays and tables at most :data:`MAX_DEPTH` deep), or a
:class:`ScenarioError` with the parser's line and column. Then every value is read by a typed reader --
:func:`_number`, :func:`_integer`, :func:`_string`, :func:`_boolean`, :func:`_number_table`, and the
scenario's own kinds: a time (:func:`_time`, :func:`_times`, :func:`_time_unit`), a weight, an IIV table, a
parameter override -- given the :class:`_Ctx` of the file and the key (:func:`_join`:
``regimens.loading.doses[1].amount``); a wrong value is a :class:`ScenarioError` naming the file, the key
(control characters escaped) and what was expected. :func:`_keys` checks a table's keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ._scenario_schema import (MAX_DEPTH, MAX_FILE_BYTES, MAX_IIV_SD, MAX_PARAMETER, MAX_TIME_H, MAX_TIMES,
                               MIN_VOLUME, WEIGHT_RANGE, _TIME_UNITS)

try:                                    # Python >= 3.11
    import tomllib
except ModuleNotFoundError:             # pragma: no cover - Python 3.10
    import tomli as tomllib


class ScenarioError(ParameterError):
    """A scenario file is missing, malformed or invalid; the message names the file and the key."""


# Public as pkpd.cli.scenario_file.ScenarioError (re-exported there): its documented home, the name tracebacks
# (and doctests) show and pickle uses.
ScenarioError.__module__ = "pkpd.cli.scenario_file"

_REQUIRED = object()


# ------------------------------------------------------------------------------------------------
# low-level checks
# ------------------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, name: str):
        self.name = name

    def fail(self, where: str, message: str):
        prefix = f"{self.name}: {where}: " if where else f"{self.name}: "
        raise ScenarioError(prefix + message)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _got(value) -> str:
    if _huge(value):
        return f"got an integer of {len(str(abs(value)))} digits"      # its repr is slow and useless
    return f"got {_shorten(repr(value), 60)} ({_kind(value)})"


def _huge(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**60


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


_KEY_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _show_key(key) -> str:
    """A key as written in TOML: bare, or quoted with its escapes (control characters as ``\\xNN``), shortened."""
    from .._internal.text import escape_controls

    key = _shorten(str(key), 40)
    if re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return key
    return '"' + escape_controls("".join(_KEY_ESCAPES.get(c, c) for c in key)) + '"'


def _join(where: str, key) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    key = _show_key(key)
    return f"{where}.{key}" if where else key


def _keys(ctx: _Ctx, table, where: str, allowed, required=()):
    if not isinstance(table, Mapping):
        ctx.fail(where, f"expected a table, {_got(table)}")
    unknown = [k for k in table if k not in allowed]
    if unknown:
        section = f"[{where}]" if where else "the top level"
        ctx.fail(_join(where, unknown[0]), f"unknown key in {section}; expected one of: {', '.join(allowed)}")
    for k in required:
        if k not in table:
            section = f"[{where}]" if where else "the top level"
            ctx.fail(_join(where, k), f"missing required key in {section}")


def _number(ctx, value, where, *, minimum=None, maximum=None, positive=False, default=_REQUIRED, what="a number",
            unit=""):
    if value is None:
        if default is _REQUIRED:
            ctx.fail(where, "missing required number")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.fail(where, f"expected a finite number, {_got(value)}")
    try:
        number = float(value)                       # a TOML integer may be too large for a float
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        ctx.fail(where, f"expected a finite number, {_got(value)}")
    unit = f" {unit}" if unit else ""
    if positive and not number > 0:
        ctx.fail(where, f"expected {what} > 0{unit}, got {number:g}")
    if minimum is not None and number < minimum:
        ctx.fail(where, f"expected {what} >= {minimum:g}{unit}, got {number:g}")
    if maximum is not None and number > maximum:
        ctx.fail(where, f"expected {what} <= {maximum:g}{unit}, got {number:g}")
    return number


def _integer(ctx, value, where, *, minimum=None, maximum=None, default=_REQUIRED):
    if value is None:
        if default is _REQUIRED:
            ctx.fail(where, "missing required integer")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        ctx.fail(where, f"expected an integer, {_got(value)}")
    if minimum is not None and value < minimum:
        ctx.fail(where, f"expected an integer >= {minimum}, " + (_got(value) if _huge(value) else f"got {value}"))
    if maximum is not None and value > maximum:
        ctx.fail(where, f"expected an integer <= {maximum}, " + (_got(value) if _huge(value) else f"got {value}"))
    return value


def _time(ctx, value, where, scale, *, positive=False, default=_REQUIRED):
    """A time of the file (its ``time_unit``), at least 0 (or > 0) and at most :data:`MAX_TIME_H` hours."""
    unit = "min" if scale != 1.0 else "h"
    return _number(ctx, value, where, minimum=None if positive else 0.0, positive=positive,
                   maximum=MAX_TIME_H / scale, default=default, what="a time", unit=unit)


def _string(ctx, value, where, *, default=_REQUIRED, choices=None):
    if value is None:
        if default is _REQUIRED:
            ctx.fail(where, "missing required string")
        return default
    if not isinstance(value, str) or not value:
        ctx.fail(where, f"expected a non-empty string, {_got(value)}")
    if choices is not None and value not in choices:
        ctx.fail(where, f"expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _boolean(ctx, value, where, default=False):
    if value is None:
        return default
    if not isinstance(value, bool):
        ctx.fail(where, f"expected true or false, {_got(value)}")
    return value


def _number_table(ctx, value, where, *, minimum=None, maximum=None, what="a number") -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        ctx.fail(where, f"expected a table of name = number, {_got(value)}")
    return {k: _number(ctx, v, _join(where, k), minimum=minimum, maximum=maximum, what=what)
            for k, v in value.items()}


def _iiv_table(ctx, value, where) -> dict:
    """``name = SD of log`` entries, each in [0, :data:`MAX_IIV_SD`]."""
    return _number_table(ctx, value, where, minimum=0.0, maximum=MAX_IIV_SD, what="an SD of log")


def _check_parameter(ctx, where, value, parameter):
    """An override of ``parameter`` (a :class:`pkpd.models.Parameter`): within its bounds, at most
    :data:`MAX_PARAMETER` in magnitude, and a volume (unit ``L``) at least :data:`MIN_VOLUME`."""
    lower, upper = max(parameter.lower, -MAX_PARAMETER), min(parameter.upper, MAX_PARAMETER)
    if parameter.unit == "L":
        lower = max(lower, MIN_VOLUME)
    unit = parameter.unit if parameter.unit not in ("", "1") else "dimensionless"
    if not lower <= value <= upper:
        ctx.fail(where, f"{parameter.name} must be in [{lower:g}, {upper:g}] ({unit}), got {value:g}")


def _times(ctx, value, where, scale) -> np.ndarray:
    if value is None:
        ctx.fail(where, "missing required key: output times, e.g. times = [0, 1, 2] or "
                        "times = {start = 0, stop = 24, step = 1}")
    if isinstance(value, Mapping):
        _keys(ctx, value, where, ("start", "stop", "step"), required=("stop", "step"))
        start = _time(ctx, value.get("start"), _join(where, "start"), scale, default=0.0)
        stop = _time(ctx, value["stop"], _join(where, "stop"), scale)
        step = _number(ctx, value["step"], _join(where, "step"), positive=True)
        if stop <= start:
            ctx.fail(_join(where, "stop"), f"expected a time after start ({start:g}), got {stop:g}")
        count = (stop - start) / step + 1               # inf for a step of 1e-320
        if count > MAX_TIMES + 1e-6:
            ctx.fail(_join(where, "step"), f"{count:.4g} output times is too many (at most {MAX_TIMES}): "
                                           "increase the step or shorten start-stop")
        n = int(math.floor(count - 1 + 1e-9)) + 1
        times = start + step * np.arange(n)
    elif isinstance(value, list):
        if not value:
            ctx.fail(where, "expected at least one output time")
        if len(value) > MAX_TIMES:
            ctx.fail(where, f"{len(value)} output times is too many (at most {MAX_TIMES})")
        times = np.array([_time(ctx, v, _join(where, i), scale) for i, v in enumerate(value)])
        bad = np.flatnonzero(np.diff(times) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            ctx.fail(_join(where, i), f"times must be strictly increasing, got {value[i - 1]!r} then {value[i]!r}")
    else:
        ctx.fail(where, f"expected an array of times or a table {{start, stop, step}}, {_got(value)}")
    return np.round(times * scale, 12)


def _time_unit(ctx, doc) -> tuple:
    unit = _string(ctx, doc.get("time_unit"), "time_unit", default="h", choices=tuple(_TIME_UNITS))
    return unit, _TIME_UNITS[unit]


def _weight(ctx, value, where) -> float:
    lo, hi = WEIGHT_RANGE
    number = _number(ctx, value, where, positive=True, maximum=hi, default=70.0, what="a weight", unit="kg")
    if number < lo:
        ctx.fail(where, f"expected a weight >= {lo:g} kg, got {number:g}")
    return number


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def read_toml(path) -> dict:
    """The TOML document at ``path``; :class:`ScenarioError` for a missing file or malformed TOML (with the
    parser's line and column)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"no such scenario file: {path}" if not path.exists()
                            else f"{path}: not a file (a scenario file is a .toml file)")
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path.name}: larger than {MAX_FILE_BYTES // 2**20} MB; a scenario file is a short "
                            "TOML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path.name}: malformed TOML: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return _parse_text(text.replace("\r\n", "\n").replace("\r", "\n"), path.name)   # newlines as text mode reads them


def _parse_text(text: str, name: str) -> dict:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: malformed TOML: {' '.join(str(exc).split())}") from None
    except RecursionError:                            # the parser recurses into nested arrays and inline tables
        line, key = _deep_location(text)
        where = (f"{_shorten(key, 40)} (line {line})" if key else f"line {line}") if line else ""
        raise ScenarioError(f"{name}: " + (f"{where}: " if where else "") + "arrays or tables nested more "
                            f"than {MAX_DEPTH} levels deep") from None
    _check_depth(_Ctx(name), doc)
    return doc


def _check_depth(ctx, doc) -> None:
    """Fail on the first key whose value nests arrays or tables more than :data:`MAX_DEPTH` levels deep
    (iteratively: the check itself must not recurse)."""
    stack = [(doc, "", 0)]                             # containers only: a list of 1e5 times stays cheap
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            ctx.fail(where, f"arrays or tables nested more than {MAX_DEPTH} levels deep")
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        stack.extend((v, _join(where, k), depth + 1) for k, v in items if isinstance(v, (Mapping, list)))


def _deep_location(text: str) -> tuple:
    """``(line, key)`` where brackets (outside strings and comments) first nest more than :data:`MAX_DEPTH`
    deep: the line and the key (with its table) whose value they are in, as written in the file."""
    depth, line, i, n = 0, 1, 0, len(text)
    table, key, start = "", "", 0                    # start: where the current key's text begins
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            if depth == 0:
                start = i + 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n and text[j:j + len(quote)] != quote:
                j += 2 if c == '"' and text[j] == "\\" else 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif c == "=" and depth == 0:
            key = text[start:i].strip()
        elif c in "[{":
            if depth == 0 and not text[start:i].strip():          # a [table] or [[array of tables]] header
                end = text.find("\n", i)
                table = text[i:n if end < 0 else end].split("#")[0].strip().strip("[]").strip()
            depth += 1
            if depth > MAX_DEPTH:
                return line, ".".join(k for k in (table, key) if k)
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None, ""
