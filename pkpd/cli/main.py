"""The ``pkpd`` command line.

``pkpd demo`` runs the status-epilepticus loading-dose timing story (:mod:`pkpd.se.demo`) and writes its
figures, ``summary.csv``, ``escalation.csv`` and ``report.md`` to ``./pkpd-demo/``.

``pkpd nca DATA.csv`` writes ``nca.csv`` and ``nca.md`` (default folder ``./pkpd-nca/``);
``pkpd fit DATA.csv --model NAME [--population [--iov CL,KA --occasion OCC]] [--error KIND] [--init CL=2,V=30]`` writes estimates, a report
and a figure (default folder ``./pkpd-fit/``). ``pkpd simulate SCENARIO.toml`` simulates the regimens of a TOML
scenario file (``timecourses.csv``, ``timecourses.png``, ``summary.md``; default folder ``./pkpd-simulate/``);
``pkpd trial SCENARIO.toml [--workers N]`` runs a virtual trial (``summary.csv``, ``report.md``,
``trial.png``; default folder ``./pkpd-trial/``). Scenario files: :mod:`pkpd.cli.scenario_file` and
``examples/README.md``.

Every command refuses to overwrite an existing file unless ``--force``, never writes through a symbolic
link and never over its input (:class:`pkpd._internal.output.OutputFolder`). No traceback reaches the user: bad
input ends with one line ``pkpd: error: ...`` on stderr and exit status 2 (argument errors: one line
``pkpd COMMAND: error: ...``, also 2); a failure while running (the integrator, memory, a bug) with one
line and exit status 1. Text echoed from input has control characters escaped. ``PKPD_TRACEBACK=1`` in the
environment shows the traceback of a runtime failure instead (for bug reports). Warnings raised by a command
are shown after it succeeds, one line each (``pkpd: warning: ...``), and not after a failure.

Examples
--------
>>> from pkpd.cli.main import build_parser
>>> args = build_parser().parse_args(["demo", "--out", "elsewhere", "--n", "200"])
>>> args.command, args.out, args.n, args.seed
('demo', 'elsewhere', 200, 2024)
>>> args = build_parser().parse_args(["trial", "examples/trial_rampart.toml", "--workers", "2"])
>>> args.command, args.scenario, args.workers, args.out
('trial', 'examples/trial_rampart.toml', 2, 'pkpd-trial')
>>> args = build_parser().parse_args(["fit", "theo.csv", "--model", "one_compartment_oral", "--init", "CL=2,V=30"])
>>> args.init, args.error                   # the error model defaults to the API's (additive)
({'CL': 2.0, 'V': 30.0}, 'additive')
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import warnings
from typing import NoReturn

from .. import __version__

__all__ = ["build_parser", "main", "run"]


_EXAMPLES = "examples/README.md (in the source tree) documents every key of the scenario file"

_SIMULATE_HELP = """\
Simulate one or several dosing regimens of a model described by a TOML scenario file and write
timecourses.csv (regimen, ID, TIME in h, one column per output), timecourses.png (one panel per output,
labelled with units; median and 5-95 %% band with several subjects), summary.csv and summary.md (Cmax,
Tmax, AUC, trough before the last dose, last value, per regimen and output).

The scenario file (units: mg, h or min, L, mg/L, kg):

  title = "Loading dose"            # optional
  model = "one_compartment_oral"    # a library model (see pkpd fit --help) ... or
  # drug = "phenytoin"              # ... a library drug of pkpd.drugs, with weight = 70 (kg)
  time_unit = "h"                   # or "min": every time of the file
  times = {start = 0, stop = 48, step = 0.5}   # or a list [0, 1, 2, ...]
  outputs = ["CP"]                  # optional (default: the first output)
  subjects = 1                      # optional; with [iiv] CL = 0.3 (SD of log) and seed
  [parameters]                      # optional overrides
  CL = 2.5
  [[regimens.loading.doses]]        # or [[doses]] for a single regimen
  amount = 1000                     # mg (mg/kg with per_kg = true; max_amount caps it)
  route = "oral"                    # or "iv", "im", ...; or cmt = "CENTRAL"
  time = 0                          # also ii, addl, duration or rate for infusions
"""

_TRIAL_HELP = """\
Run a virtual trial described by a TOML scenario file: the same virtual subjects
(pkpd.Population.virtual) in every arm, per-kg doses with caps, endpoints (pkpd.trials.endpoints), run serially
or on a local Dask cluster (--workers N; results are bit-identical). Writes summary.csv (fractions with
Wilson intervals, medians), subjects.csv, timecourses.csv, report.md and trial.png (median and 5-95 %%
ribbon of an output; endpoint fractions).

The scenario file (status epilepticus, RAMPART-like):

  title = "RAMPART"
  time_unit = "min"                 # every time of the file; seizure onset is t = 0
  times = {start = 0, stop = 240, step = 5}
  seed = 2024
  [population]
  n = 200                           # --n overrides it; also ancestry, seed, age, weight, female
  [model]
  name = "status_epilepticus"       # or a library model / drug with [model.parameters] and [model.iiv]
  [[arms."midazolam IM 10 mg".doses]]
  drug = "midazolam"
  route = "im"
  amount = 10                       # mg; per_kg = true and max_amount for weight-based doses
  time = 16
  [[endpoints]]
  type = "terminated_by"            # also time_to_termination, time_above, auc, cmax, minimum, trough
  time = 60
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``prog: error: message``) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pkpd", description="pkpd: pharmacokinetic / pharmacodynamic modelling. "
                                              "Every command has --help; scenario files: " + _EXAMPLES + ".")
    parser.add_argument("--version", action="version", version=f"pkpd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    demo = sub.add_parser("demo", help="status epilepticus: benzodiazepine timing (figures, summary.csv, "
                                       "escalation.csv, report.md)",
                          description="The same midazolam dose given 5, 15, 30 and 60 min after seizure onset: "
                                      "a typical patient, a virtual cohort, a dose escalation (1x, 2x and 3x the "
                                      "dose at 5 and 60 min) and the brain behind the blood-brain barrier.")
    demo.add_argument("--out", default="pkpd-demo", help="output folder (default: ./pkpd-demo)")
    demo.add_argument("--force", action="store_true", help="replace files of an earlier run")
    demo.add_argument("--n", type=int, default=500, help="virtual cohort size (default: 500)")
    demo.add_argument("--seed", type=int, default=2024, help="random seed of the cohort (default: 2024)")
    demo.add_argument("--delays", type=float, nargs="+", default=None, metavar="MIN",
                      help="treatment delays after seizure onset in minutes (default: 5 15 30 60)")
    from ..se.demo import BENZODIAZEPINES
    demo.add_argument("--drug", default="midazolam", choices=BENZODIAZEPINES,
                      help="the benzodiazepine (default: midazolam, 10 mg IM; lorazepam: 4 mg IV)")
    demo.add_argument("--dose", type=float, default=None, metavar="MG",
                      help="its dose in mg (default: the drug's RAMPART dose)")
    demo.add_argument("--quiet", action="store_true", help="print nothing but errors")

    nca = sub.add_parser("nca", help="non-compartmental analysis of a NONMEM-style CSV (nca.csv, nca.md)",
                         description="Non-compartmental analysis (single dose, one row per subject) of a "
                                     "NONMEM-style CSV: writes nca.csv (all metrics) and nca.md (a markdown table).")
    nca.add_argument("data", metavar="DATA.csv", help="NONMEM-style data (ID TIME AMT DV ...)")
    nca.add_argument("--out", default="pkpd-nca", help="output folder (default: ./pkpd-nca)")
    nca.add_argument("--force", action="store_true", help="replace files of an earlier run")
    _reading_options(nca)
    nca.add_argument("--quiet", action="store_true", help="print nothing but errors")

    from ..models.registry import MODEL_NAMES
    fit = sub.add_parser("fit", help="fit a library model per subject or as a population (estimates, report, PNG)",
                         description="Fit a model of pkpd.models to a NONMEM-style CSV. Without --population: one "
                                     "fit per subject (estimates.csv, report.md, fits.png). With --population: "
                                     "FOCE-I with log-normal IIV 0.1 on CL and V/V1, start values from NCA, or a "
                                     "grid search when NCA cannot apply (table.csv, etas.csv, report.md, gof.png). "
                                     "Subjects without doses or observations are skipped and named in report.md.")
    fit.add_argument("data", metavar="DATA.csv", help="NONMEM-style data (ID TIME AMT DV ...)")
    fit.add_argument("--model", required=True, metavar="NAME",
                     help="model name: " + ", ".join(MODEL_NAMES) + " (snake_case such as one_compartment_oral "
                          "works too)")
    fit.add_argument("--error", default=FIT_DEFAULT_ERROR, choices=FIT_ERRORS,
                     help=f"residual error model (default: {FIT_DEFAULT_ERROR}, the default of pkpd.fit_individual: "
                          "it keeps measured pre-dose concentrations where the model predicts 0)")
    _reading_options(fit)
    fit.add_argument("--init", type=_init_values, default=None, metavar="NAME=VALUE,...",
                     help="start values, e.g. CL=2,V=30 (typical values with --population); the parameters named "
                          "are estimated from there, the others start from NCA or a grid search")
    fit.add_argument("--population", action="store_true", help="population fit (FOCE-I) instead of one per subject")
    fit.add_argument("--iov", type=_names, default=(), metavar="NAME,...",
                     help="with --population: between-occasion variability on these parameters (e.g. CL,KA), the "
                          "occasion of each record read from --occasion")
    fit.add_argument("--occasion", default="OCC", metavar="COLUMN",
                     help="the data column naming each record's occasion, for --iov (default: OCC)")
    fit.add_argument("--out", default="pkpd-fit", help="output folder (default: ./pkpd-fit)")
    fit.add_argument("--force", action="store_true", help="replace files of an earlier run")
    fit.add_argument("--quiet", action="store_true", help="print nothing but errors")

    simulate = sub.add_parser("simulate", help="simulate the regimens of a TOML scenario file (CSV, PNG, summary.md)",
                              description=_SIMULATE_HELP, epilog="Examples: examples/simulate_*.toml; "
                              + _EXAMPLES + ".", formatter_class=argparse.RawDescriptionHelpFormatter)
    simulate.add_argument("scenario", metavar="SCENARIO.toml", help="scenario file (TOML)")
    simulate.add_argument("--out", default="pkpd-simulate", help="output folder (default: ./pkpd-simulate)")
    simulate.add_argument("--force", action="store_true", help="replace files of an earlier run")
    simulate.add_argument("--quiet", action="store_true", help="print nothing but errors")

    trial = sub.add_parser("trial", help="run a virtual trial of a TOML scenario file (summary CSV, report, PNG)",
                           description=_TRIAL_HELP, epilog="Examples: examples/trial_*.toml; " + _EXAMPLES + ".",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    trial.add_argument("scenario", metavar="SCENARIO.toml", help="scenario file (TOML)")
    trial.add_argument("--workers", type=int, default=0, metavar="N",
                       help="Dask workers of a local cluster (default 0: serial; needs dask[distributed])")
    trial.add_argument("--n", type=int, default=None, metavar="N",
                       help="number of virtual subjects (overrides population.n of the file)")
    trial.add_argument("--out", default="pkpd-trial", help="output folder (default: ./pkpd-trial)")
    trial.add_argument("--force", action="store_true", help="replace files of an earlier run")
    trial.add_argument("--quiet", action="store_true", help="print nothing but errors and no progress bar")
    return parser


def _demo(args) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")      # files only: no display needed
    from ..se.demo import run_demo

    start = time.perf_counter()

    def progress(message):
        if not args.quiet:
            print(f"[{time.perf_counter() - start:5.1f} s] {message}", file=sys.stderr, flush=True)

    options = {} if args.delays is None else {"delays": args.delays}
    # Full garbage collections walk every object numba and matplotlib create at import (200 000): four of them
    # took 0.2 s of a 4 s demo. Deferred while it runs (after 1000 collections of the middle generation, not 10):
    # the demo's garbage is young, and young collections still run.
    thresholds = gc.get_threshold()
    gc.set_threshold(*thresholds[:2], 1000)
    try:
        result = run_demo(args.out, n=args.n, seed=args.seed, drug=args.drug, dose=args.dose, progress=progress,
                          force=args.force, **options)
    finally:
        gc.set_threshold(*thresholds)
    if not args.quiet:
        print(result.summary[["delay_min", "cohort_terminated", "cohort_terminated_with_ketamine",
                              "cohort_terminated_untreated", "surface_gabaa_at_dose",
                              "e_gaba_at_dose_mv"]].to_string(index=False))
        print(_one_line(f"wrote {', '.join(str(p) for p in result.files.values())} in {result.seconds:.1f} s"))
    return 0


def _wrote(files: dict, quiet: bool) -> int:
    if not quiet:
        print(_one_line(f"wrote {', '.join(str(p) for p in files.values())}"))
    return 0


def _reading_options(parser) -> None:
    """``--ignore`` and ``--na-values``: how the data file is read (:func:`pkpd.read_nonmem`)."""
    parser.add_argument("--ignore", default="#", metavar="CHARS",
                        help="records whose first character is one of CHARS are skipped, as NONMEM's IGNORE "
                             "(default '#'; '#C@' also skips C records and NONMEM table headers)")
    parser.add_argument("--na-values", default="", metavar="TOKENS",
                        help="comma-separated tokens read as missing besides '.' and empty (e.g. NA,NaN); "
                             "without it any other text is an error at its line")


def _reading(args) -> dict:
    tokens = tuple(t for t in (x.strip() for x in args.na_values.split(",")) if t)
    return {"ignore": args.ignore, "na_values": tokens}


def _nca(args) -> int:
    from .commands import run_nca

    return _wrote(run_nca(args.data, args.out, force=args.force, reading=_reading(args)), args.quiet)


def _init_values(text: str) -> dict:
    """``--init`` values (:func:`pkpd.cli.commands.parse_init`); bad syntax is a usage error."""
    from .commands import parse_init

    try:
        return parse_init(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _names(text: str) -> tuple:
    """``--iov`` names: comma-separated parameter names."""
    names = tuple(n.strip() for n in text.split(","))
    if not all(n.isidentifier() for n in names):
        raise argparse.ArgumentTypeError(f"expected parameter names separated by commas (CL,KA), got {text!r}")
    return names


def _fit(args) -> int:
    from .commands import run_fit

    return _wrote(run_fit(args.data, args.model, error=args.error, population=args.population, out=args.out,
                          force=args.force, init=args.init, reading=_reading(args), iov=args.iov,
                          occasion=args.occasion), args.quiet)


def _simulate(args) -> int:
    from .commands import run_simulate

    return _wrote(run_simulate(args.scenario, args.out, force=args.force), args.quiet)


def _trial(args) -> int:
    from .commands import run_trial_scenario

    files = run_trial_scenario(args.scenario, args.out, workers=args.workers, n=args.n,
                               progress=False if args.quiet else None, force=args.force)
    if not args.quiet:
        import pandas as pd

        from .._internal.text import escape_controls

        summary = pd.read_csv(files["summary"])              # arm and endpoint names come from the scenario file
        print(escape_controls(summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"), keep="\n"))
        print(_one_line(f"wrote {', '.join(str(p) for p in files.values())}"))
    return 0


def _one_line(what) -> str:
    """A message (or an exception's) on one line, control characters escaped."""
    from .._internal.text import escape_controls

    text = str(what) if not isinstance(what, BaseException) else (str(what) or type(what).__name__)
    return escape_controls(" ".join(text.split()))


_COMMANDS = {"demo": _demo, "nca": _nca, "fit": _fit, "simulate": _simulate, "trial": _trial}


#: ``pkpd fit --error`` choices and default: :data:`pkpd.cli.commands.ERROR_NAMES` and ``DEFAULT_ERROR_NAME``,
#: named here so that parsing a command does not import the estimation package (0.1 s of every command; a test
#: checks that they agree).
FIT_ERRORS = ("additive", "proportional", "combined", "combined-sd", "exponential")
FIT_DEFAULT_ERROR = "additive"
#: Largest ``pkpd demo --n`` (the trial limit of :data:`pkpd.cli.scenario_file.MAX_POPULATION`).
_DEMO_MAX_N = 10_000_000
#: Most distinct warnings shown after a successful command.
_MAX_WARNINGS = 10


def main(argv=None) -> int:
    """Entry point of the ``pkpd`` console script; returns the exit status (0, 1 runtime, 2 bad input).

    Warnings raised while a command runs are collected: after success each distinct one is shown as one
    line ``pkpd: warning: ...`` (control characters escaped; none with ``--quiet``); after a failure only the
    error line is shown.
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        status = _run(args)
    if status == 0 and not getattr(args, "quiet", False):
        shown = list(dict.fromkeys(_one_line(f"{w.category.__name__}: {w.message}") for w in caught))
        for line in shown[:_MAX_WARNINGS]:
            print(f"pkpd: warning: {line}", file=sys.stderr)
        if len(shown) > _MAX_WARNINGS:
            print(f"pkpd: warning: {len(shown) - _MAX_WARNINGS} more warnings", file=sys.stderr)
    return status


def run() -> NoReturn:
    """The ``pkpd`` console script and ``python -m pkpd.cli``: :func:`main`, then exit with its status."""
    status = main()
    # The process ends here. Frozen objects are left out of the interpreter's last garbage collection, which
    # otherwise walks every numba and matplotlib object on the way out (0.3 s of a 4.5 s ``pkpd demo``).
    gc.freeze()
    raise SystemExit(status)


def _run(args) -> int:
    from ..errors import PkpdError, SimulationError

    try:
        if args.command == "demo":
            if not 1 <= args.n <= _DEMO_MAX_N:
                raise ValueError(f"--n must be a cohort size from 1 to {_DEMO_MAX_N}, got {args.n}")
            if args.seed < 0:
                raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
        return _COMMANDS[args.command](args)
    except SimulationError as exc:
        print(f"pkpd: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (PkpdError, ValueError, OSError, UnicodeError) as exc:
        print(f"pkpd: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pkpd: error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:                              # a bug or resource failure: one line, never a traceback
        if os.environ.get("PKPD_TRACEBACK"):
            raise
        print(f"pkpd: error: {args.command} failed ({type(exc).__name__}: {_one_line(exc)}); "
              "set PKPD_TRACEBACK=1 for details", file=sys.stderr)
        return 1

