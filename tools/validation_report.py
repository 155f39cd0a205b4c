"""The validation report: run the repository's validation tests and write ``docs/validation.md``.

``python -m tools.validation_report`` runs every test under ``tests/validation`` (pytest, in-process) and writes
one markdown report listing each test -- its outcome, the source it validates against (its docstring and
its module's docstring) and every comparison it recorded: the quantity, pkpd's value, the reference
value, the tolerance, the source of the reference, pass or fail. ``--check`` regenerates the report in
memory and compares it with the file (ignoring the date line); it exits with status 1 and a diff when they
differ, so "the report reproduces" is checkable.

Usage::

    python -m tools.validation_report [--tests tests/validation] [--output docs/validation.md]
                              [--include-slow] [--check]

Tests record comparisons through the ``validation`` fixture of ``tests/validation/conftest.py``, a
:class:`Recorder`::

    def test_rt_over_f(validation):
        validation.compare("RT/F at 37 °C (mV)", RT_F(37.0), 26.727, atol=5e-4, source="computed [C]")

:meth:`Recorder.compare` and :meth:`Recorder.within` assert like ``pytest.approx`` and also store the
comparison in the test's ``user_properties``, from where the report collects it. Tests marked ``slow``
are listed as not run unless ``--include-slow`` is given.

The report is deterministic: tests in collection order, modules by path, no durations, pkpd values
rounded to one digit below their tolerance; only the ``Generated on`` line carries the date. The tests
are not part of an installed wheel, so the command needs a source checkout (``--tests`` points to one).
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Recorder", "TestRecord", "render", "run_validation", "diff_reports", "listed_tests", "main"]

#: Key of the comparisons in a test's ``user_properties``.
PROPERTY = "validation"
#: Evidence labels: a comparison with a reference that set no parameter, or with one a parameter was set from.
INDEPENDENT, CALIBRATION = "independent", "calibration target"
#: pytest marker of a test whose comparisons are all calibration checks.
CALIBRATION_MARKER = "calibration_check"
#: Prefix of the one line of the report that changes from run to run (ignored by ``--check``).
DATE_PREFIX = "Generated on "
NOT_RUN_SLOW = "not run (slow; use --include-slow)"
COMMAND = "python -m tools.validation_report"


# --------------------------------------------------------------------------------------------- recording

class Recorder:
    """Compare pkpd's values with references inside a test, asserting and recording each comparison.

    Parameters
    ----------
    node : pytest.Item or object with a ``user_properties`` list
        The running test (``request.node``); comparisons are appended to its ``user_properties`` as
        ``("validation", dict)`` pairs.
    source : str, optional
        Default source of the comparisons of this test.

    Examples
    --------
    >>> class Node:
    ...     user_properties = []
    >>> rec = Recorder(Node())
    >>> rec.compare("E_Cl at [Cl]i 5 mM (mV)", -84.938, -84.94, atol=0.01, source="Nernst, computed [C]")
    -84.938
    >>> Node.user_properties[0][1]["passed"]
    True
    """

    def __init__(self, node, source: str | None = None):
        self.node = node
        self.source = source
        marked = getattr(node, "get_closest_marker", lambda name: None)(CALIBRATION_MARKER) is not None
        #: evidence of this test's comparisons unless a comparison says otherwise
        self.evidence = CALIBRATION if marked else INDEPENDENT

    def _record(self, entry: dict, calibration: bool | None = None) -> None:
        if entry.get("source") is None:
            entry["source"] = self.source
        entry["evidence"] = self.evidence if calibration is None else (CALIBRATION if calibration else INDEPENDENT)
        # plain Python values: the entry may be sent between processes (pytest-xdist serialises reports)
        entry = {k: v.item() if isinstance(v, np.generic) else v for k, v in entry.items()}
        self.node.user_properties.append((PROPERTY, entry))

    def compare(self, quantity: str, value, reference, *, rtol: float | None = None, atol: float | None = None,
                source: str | None = None, calibration: bool | None = None):
        """Assert ``value`` equals ``reference`` within the tolerance, and record the comparison.

        Parameters
        ----------
        quantity : str
            What is compared, with its unit, e.g. ``"CL (L/h)"``.
        value : float, array_like, str or int
            pkpd's value. Arrays are compared element-wise; the worst element is recorded.
        reference : float, array_like, str or int
            The reference value (broadcast against ``value``).
        rtol, atol : float, optional
            Relative and absolute tolerance; as in ``pytest.approx`` the allowed difference is
            ``max(rtol * |reference|, atol)``. Without either the comparison is exact.
        source : str, optional
            Where the reference comes from (paper, hand calculation, software), if not the default.
        calibration : bool, optional
            True when a parameter was set from this reference (a calibration check, not evidence); default:
            the test's ``@pytest.mark.calibration_check`` marker, else independent.

        Returns
        -------
        The ``value`` passed in.

        Raises
        ------
        AssertionError
            If the values differ by more than the tolerance (after recording the comparison).
        """
        entry = {"kind": "compare", "quantity": quantity, "rtol": rtol, "atol": atol, "source": source}
        numeric = _is_numeric(value) and _is_numeric(reference)
        if not numeric or (rtol is None and atol is None and np.ndim(value) == 0 and np.ndim(reference) == 0):
            passed = bool(value == reference) if not numeric else bool(np.all(np.asarray(value) == reference))
            entry.update(value=_plain(value), reference=_plain(reference), passed=passed, n=1)
        else:
            v, r = np.broadcast_arrays(np.asarray(value, float), np.asarray(reference, float))
            tol = np.maximum((rtol or 0.0) * np.abs(r), atol or 0.0)
            diff = np.abs(v - r)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(tol > 0, diff / tol, np.where(diff > 0, np.inf, 0.0))   # > 1: out of tolerance
            ratio = np.where(np.isnan(ratio), np.inf, ratio)
            worst = int(np.argmax(ratio)) if ratio.size else 0
            passed = bool(np.all(ratio <= 1)) if ratio.size else True
            entry.update(value=float(v.flat[worst]) if v.size else math.nan,
                         reference=float(r.flat[worst]) if r.size else math.nan, passed=passed, n=int(v.size))
        self._record(entry, calibration)
        assert entry["passed"], (f"{quantity}: pkpd {entry['value']!r} != reference {entry['reference']!r} "
                                 f"(rtol={rtol}, atol={atol})")
        return value

    def within(self, quantity: str, value, low: float | None = None, high: float | None = None, *,
               source: str | None = None, calibration: bool | None = None):
        """Assert ``low <= value <= high`` (either bound may be ``None``) and record the comparison.

        Parameters
        ----------
        quantity : str
            What is compared, with its unit.
        value : float or array_like
            pkpd's value; for an array every element must lie in the interval (the worst is recorded).
        low, high : float, optional
            The accepted interval (from the reference), inclusive.
        source : str, optional
            Where the interval comes from.
        calibration : bool, optional
            As in :meth:`compare`.

        Returns
        -------
        The ``value`` passed in.
        """
        v = np.atleast_1d(np.asarray(value, float)).ravel()
        lo = -np.inf if low is None else low
        hi = np.inf if high is None else high
        excess = np.maximum(lo - v, v - hi)
        excess = np.where(np.isnan(excess), np.inf, excess)
        worst = int(np.argmax(excess))
        entry = {"kind": "within", "quantity": quantity, "value": float(v[worst]), "low": _plain(low),
                 "high": _plain(high), "passed": bool(np.all(excess <= 0)), "n": int(v.size), "source": source}
        self._record(entry, calibration)
        assert entry["passed"], f"{quantity}: pkpd {entry['value']!r} not in [{low}, {high}]"
        return value


def _is_numeric(x) -> bool:
    try:
        return np.asarray(x).dtype.kind in "biuf"
    except Exception:  # pragma: no cover - exotic objects
        return False


def _plain(x):
    """A JSON-friendly scalar: Python float/int/str (numpy scalars converted)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (int, float, str)) or x is None:
        return x
    return str(x)


# ----------------------------------------------------------------------------------------------- records

@dataclass
class TestRecord:
    """One validation test in the report.

    Attributes
    ----------
    nodeid : str
        pytest node id, relative to the repository root (``tests/validation/test_x.py::test_y[a]``).
    doc : str
        The test's docstring (what it validates and against which source), whitespace collapsed.
    outcome : str
        ``passed``, ``failed``, ``error``, ``xfailed``, ``xpassed``, ``skipped`` or ``not run``.
    detail : str
        Skip/xfail reason, or why the test was not run.
    comparisons : list of dict
        The comparisons recorded by :class:`Recorder`.
    module_doc : str
        The module's docstring.
    """

    __test__ = False  # not a pytest test class

    nodeid: str
    doc: str = ""
    outcome: str = "not run"
    detail: str = ""
    comparisons: list = field(default_factory=list)
    module_doc: str = ""

    @property
    def module(self) -> str:
        """The test file's path (the node id before ``::``)."""
        return self.nodeid.split("::", 1)[0]

    @property
    def name(self) -> str:
        """The test's name within its module (with parameters)."""
        return self.nodeid.split("::", 1)[1] if "::" in self.nodeid else self.nodeid


class _Plugin:
    """pytest plugin gathering :class:`TestRecord` objects; deselects ``slow`` tests unless asked."""

    def __init__(self, include_slow: bool):
        self.include_slow = include_slow
        self.records: dict[str, TestRecord] = {}
        self.collection_errors: list[str] = []

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(report.nodeid)
            self.records[report.nodeid + "::(collection)"] = TestRecord(
                report.nodeid + "::(collection)", outcome="error", detail="the module could not be collected")

    def pytest_collection_modifyitems(self, session, config, items):
        keep, slow = [], []
        for item in items:
            fn = getattr(item, "function", None)
            module = getattr(item, "module", None)
            rec = TestRecord(item.nodeid, doc=_collapse(getattr(fn, "__doc__", None) or ""),
                             module_doc=(getattr(module, "__doc__", None) or "").strip())
            if item.get_closest_marker("slow") is not None and not self.include_slow:
                rec.outcome, rec.detail = "not run", NOT_RUN_SLOW
                slow.append(item)
            else:
                keep.append(item)
            self.records[item.nodeid] = rec
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = keep

    def pytest_runtest_logreport(self, report):
        rec = self.records.get(report.nodeid)
        if rec is None:
            return
        rec.comparisons = [dict(v) for k, v in report.user_properties if k == PROPERTY]
        xfail = getattr(report, "wasxfail", None)
        if report.when == "call":
            if xfail is not None:
                rec.outcome, rec.detail = ("xfailed" if report.skipped else "xpassed"), _collapse(xfail)
            else:
                rec.outcome = report.outcome
        elif report.when == "setup":
            if report.skipped:
                rec.outcome = "xfailed" if xfail is not None else "skipped"
                rec.detail = _collapse(xfail) if xfail is not None else _skip_reason(report)
            elif report.failed:
                rec.outcome, rec.detail = "error", "error in setup"
        elif report.when == "teardown" and report.failed and rec.outcome == "passed":
            rec.outcome, rec.detail = "error", "error in teardown"


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return _collapse(str(longrepr[2]).removeprefix("Skipped: "))
    return ""


def _collapse(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------------------------- running

def find_tests(tests: str | os.PathLike | None = None) -> Path:
    """The validation test directory: ``tests`` if given, else ``tests/validation`` under the current
    directory or under the source checkout pkpd was imported from.

    Raises
    ------
    FileNotFoundError
        If there is no such directory (e.g. pkpd installed from a wheel, which has no tests).
    """
    if tests is not None:
        path = Path(tests)
        if not path.exists():
            raise FileNotFoundError(f"validation tests not found: {path}")
        return path.resolve()
    candidates = [Path.cwd() / "tests" / "validation", Path(__file__).resolve().parents[1] / "tests" / "validation"]
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    raise FileNotFoundError(
        "tests/validation not found in the current directory nor next to the pkpd package "
        f"({candidates[1].parent.parent}); the validation tests are not shipped with an installed pkpd: run "
        "this from a source checkout or pass --tests DIR")


def _root_of(tests: Path) -> Path:
    """The repository root of a test path: the nearest ancestor with a ``pyproject.toml`` (else the parent)."""
    for parent in tests.parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return tests.parent


def run_validation(tests: str | os.PathLike | None = None, *, include_slow: bool = False,
                   pytest_args: Sequence[str] = ()) -> list[TestRecord]:
    """Run the validation tests with pytest and return one :class:`TestRecord` per test.

    Parameters
    ----------
    tests : path, optional
        The validation test directory or file (default: :func:`find_tests`).
    include_slow : bool
        Run tests marked ``slow`` too (by default they are listed as not run).
    pytest_args : sequence of str
        Extra pytest arguments.

    Returns
    -------
    list of TestRecord
        Sorted by module path, then in collection order.
    """
    import pytest

    tests = find_tests(tests)
    root = _root_of(tests)
    plugin = _Plugin(include_slow)
    args = [str(tests), "--rootdir", str(root), "-m", "", "-p", "no:cacheprovider", "-q", "--tb=short",
            "-o", "console_output_style=classic", "-n", "0", *pytest_args]
    cwd = Path.cwd()
    os.chdir(root)
    try:
        code = pytest.main(args, plugins=[plugin])
    finally:
        os.chdir(cwd)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) and not plugin.records:
        raise RuntimeError(f"pytest could not run the validation tests (exit code {int(code)})")
    order = {nodeid: i for i, nodeid in enumerate(plugin.records)}
    return sorted(plugin.records.values(), key=lambda r: (r.module, order[r.nodeid]))


# --------------------------------------------------------------------------------------------- rendering

def _fmt_number(x: float, tol: float = 0.0) -> str:
    """``x`` rounded to one digit below the tolerance (so machine noise does not show), else 10 digits."""
    if x is None:
        return ""
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if tol and tol > 0 and math.isfinite(tol):
        quantum = 10.0 ** (math.floor(math.log10(tol)) - 1)
        x = round(x / quantum) * quantum
        if x == 0:
            return "0"
        digits = max(1, math.floor(math.log10(abs(x))) - math.floor(math.log10(quantum)) + 1)
        return f"{x:.{min(digits, 10)}g}"
    return f"{x:.10g}"


def _fmt_reference(x) -> str:
    """A reference value: 12 significant digits (published values keep all theirs)."""
    if isinstance(x, float) and math.isfinite(x):
        return f"{x:.12g}"
    return _fmt_number(x)


def _fmt_tolerance(c: dict) -> str:
    rtol, atol = c.get("rtol"), c.get("atol")
    parts = []
    if atol:
        parts.append(f"±{atol:g}")
    if rtol:
        parts.append(f"±{rtol * 100:g} %")
    if not parts:
        return "exact" if c.get("kind") == "compare" else "interval"
    return " or ".join(parts)


def _comparison_cells(c: dict) -> tuple[str, str, str]:
    """(pkpd, reference, tolerance) cells of a recorded comparison."""
    n = c.get("n", 1)
    if c.get("kind") == "within":
        lo, hi = c.get("low"), c.get("high")
        span = [abs(b) for b in (lo, hi) if isinstance(b, (int, float)) and b is not None and math.isfinite(b)]
        if lo is not None and hi is not None:
            tol = abs(hi - lo) / 100
            ref = f"[{_fmt_number(lo)}, {_fmt_number(hi)}]"
        else:
            tol = (span[0] / 1000) if span else 0.0
            ref = f"≥ {_fmt_number(lo)}" if lo is not None else f"≤ {_fmt_number(hi)}"
        value = _fmt_number(c["value"], tol)
        tolerance = "interval"
    else:
        ref_value = c.get("reference")
        tol = 0.0
        if isinstance(ref_value, (int, float)) and not isinstance(ref_value, bool):
            tol = max((c.get("rtol") or 0.0) * abs(ref_value), c.get("atol") or 0.0)
        value, ref, tolerance = _fmt_number(c.get("value"), tol), _fmt_reference(ref_value), _fmt_tolerance(c)
    if n > 1:
        value += f" (worst of {n})"
    return value, ref, tolerance


def _cell(text) -> str:
    return _collapse(str(text)).replace("|", "\\|")


def _anchor_free_name(name: str) -> str:
    return "`" + name.replace("`", "'") + "`"


def _outcome_cell(rec: TestRecord) -> str:
    label = {"passed": "passed", "failed": "**FAILED**", "error": "**ERROR**", "xpassed": "xpassed"}.get(
        rec.outcome, rec.outcome)
    if rec.outcome == "not run" and rec.detail:
        return rec.detail
    return f"{label}: {rec.detail}" if rec.detail else label


OUTCOMES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped", "not run")


def render(records: Sequence[TestRecord], *, date: str | None = None, version: str | None = None,
           include_slow: bool = False, tests_label: str = "tests/validation") -> str:
    """The markdown report of ``records``.

    Parameters
    ----------
    records : sequence of TestRecord
        As returned by :func:`run_validation` (rendered in the given order, grouped by module).
    date : str, optional
        ISO date for the ``Generated on`` line (default: today).
    version : str, optional
        pkpd version (default: ``pkpd.__version__``).
    include_slow : bool
        Whether slow tests were run (stated in the header).
    tests_label : str
        The test directory as shown in the header.

    Returns
    -------
    str
        The report, ending with a newline.
    """
    if date is None:
        date = datetime.date.today().isoformat()
    if version is None:
        from pkpd import __version__ as version
    flag = " --include-slow" if include_slow else ""
    counts = {o: sum(r.outcome == o for r in records) for o in OUTCOMES}
    comparisons = [c for r in records for c in r.comparisons]
    n_fail = sum(not c["passed"] for c in comparisons)
    n_calibration = sum(c.get("evidence") == CALIBRATION for c in comparisons)
    lines = [
        "# Validation report",
        "",
        f"{DATE_PREFIX}{date} by `{COMMAND}{flag}`.",
        "",
        f"pkpd {version}. Do not edit by hand: regenerate with `{COMMAND}{flag}`; "
        f"`{COMMAND} --check` verifies that this file is reproduced (ignoring the date line).",
        "",
        f"Every test under `{tests_label}` is listed with its outcome and the source it validates against "
        "(the test's docstring, and the module's docstring at the head of each section). A test's recorded "
        "comparisons follow it: the quantity, pkpd's value (rounded one digit below the tolerance; for an "
        "array the worst element), the reference value, the tolerance (the larger of the absolute and "
        "relative ones), the reference's source when it is not the test's, whether the comparison is "
        "evidence, and pass/fail. *Independent*: the reference set no parameter of pkpd. *Calibration target*: "
        "a parameter was set from this reference, so agreement shows the calibration holds, not that the model "
        "predicts (only independent comparisons count as evidence). "
        + ("Slow tests were run." if include_slow else
           "Tests marked `slow` are listed but not run (`--include-slow` runs them)."),
        "",
        "## Summary",
        "",
        "| outcome | tests |",
        "|---|---:|",
    ]
    lines += [f"| {o} | {counts[o]} |" for o in OUTCOMES if counts[o]]
    lines += [f"| **total** | {len(records)} |", "",
              f"Recorded comparisons: {len(comparisons)} ({len(comparisons) - n_fail} pass, {n_fail} fail): "
              f"**{len(comparisons) - n_calibration} independent**, **{n_calibration} calibration targets**.", "",
              "| module | tests | passed | failed | other | comparisons |", "|---|---:|---:|---:|---:|---:|"]
    modules: dict[str, list[TestRecord]] = {}
    for r in records:
        modules.setdefault(r.module, []).append(r)
    for mod, recs in modules.items():
        passed = sum(r.outcome == "passed" for r in recs)
        failed = sum(r.outcome in ("failed", "error") for r in recs)
        ncmp = sum(len(r.comparisons) for r in recs)
        lines.append(f"| [`{mod}`](#{_slug(mod)}) | {len(recs)} | {passed} | {failed} | "
                     f"{len(recs) - passed - failed} | {ncmp} |")
    for mod, recs in modules.items():
        lines += ["", f"## {mod}", ""]
        doc = next((r.module_doc for r in recs if r.module_doc), "")
        if doc:
            lines += ["> " + line.rstrip() if line.strip() else ">" for line in doc.splitlines()]
            lines.append("")
        lines += ["| test | quantity | pkpd | reference | tolerance | source | evidence | result |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in recs:
            lines.append(_row([_anchor_free_name(_cell(r.name)), "", "", "", "", _cell(r.doc), "",
                               _cell(_outcome_cell(r))]))
            for c in r.comparisons:
                value, ref, tolerance = _comparison_cells(c)
                result = "pass" if c["passed"] else "**fail**"
                lines.append(_row(["", _cell(c.get("quantity", "")), _cell(value), _cell(ref), _cell(tolerance),
                                   _cell(c.get("source") or ""), c.get("evidence", INDEPENDENT), result]))
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


# ---------------------------------------------------------------------------------------------- checking

def diff_reports(expected: str, actual: str) -> list[str]:
    """Unified diff of two reports, ignoring the ``Generated on`` line; empty if they agree."""
    def strip(text):
        return [line for line in text.splitlines() if not line.startswith(DATE_PREFIX)]
    return list(difflib.unified_diff(strip(expected), strip(actual), "docs/validation.md (file)",
                                     "docs/validation.md (regenerated)", lineterm="", n=1))


_ROW = re.compile(r"^\| `(?P<name>[^`]+)` \|")


def listed_tests(markdown: str) -> set[str]:
    """The node ids listed in a report (module heading + test rows)."""
    out, module = set(), None
    for line in markdown.splitlines():
        if line.startswith("## "):
            module = line[3:].strip()
            continue
        m = _ROW.match(line)
        if m and module:
            out.add(f"{module}::{m.group('name').replace(chr(92) + '|', '|')}")
    return out


# ---------------------------------------------------------------------------------------------- command

def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tools.validation_report``; returns the exit status."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", help="validation test directory (default: tests/validation of the checkout)")
    parser.add_argument("--output", help="report file (default: docs/validation.md next to the tests)")
    parser.add_argument("--include-slow", action="store_true", help="also run tests marked slow")
    parser.add_argument("--check", action="store_true",
                        help="regenerate in memory and compare with the report file; exit 1 if they differ")
    ns = parser.parse_args(argv)
    try:
        tests = find_tests(ns.tests)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    root = _root_of(tests)
    output = Path(ns.output) if ns.output else root / "docs" / "validation.md"
    try:
        label = tests.relative_to(root).as_posix()
    except ValueError:  # pragma: no cover
        label = tests.as_posix()
    start = time.perf_counter()
    records = run_validation(tests, include_slow=ns.include_slow)
    elapsed = time.perf_counter() - start
    text = render(records, include_slow=ns.include_slow, tests_label=label)
    counts = ", ".join(f"{o} {n}" for o in OUTCOMES if (n := sum(r.outcome == o for r in records)))
    ncmp = sum(len(r.comparisons) for r in records)
    summary = f"{len(records)} tests ({counts}); {ncmp} comparisons; {elapsed:.0f} s"
    if ns.check:
        if not output.is_file():
            print(f"error: {output} does not exist", file=sys.stderr)
            return 1
        diff = diff_reports(output.read_text(encoding="utf-8"), text)
        if diff:
            changed = sum(1 for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---")))
            print(f"{output} is not reproduced: {changed} lines differ ({summary})")
            print("\n".join(diff[:80]) + ("\n..." if len(diff) > 80 else ""))
            return 1
        print(f"{output} is reproduced ({summary})")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
