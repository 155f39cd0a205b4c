"""The ``pkpd`` command line.

``pkpd demo`` runs the status-epilepticus loading-dose timing story (:mod:`pkpd.demo`) and writes its
figures, ``summary.csv`` and ``report.md`` to ``./pkpd-demo/``.

``pkpd nca DATA.csv`` writes ``nca.csv`` and ``nca.md`` (default folder ``./pkpd-nca/``);
``pkpd fit DATA.csv --model NAME [--population]`` writes estimates, a report and a figure (default folder
``./pkpd-fit/``); see ``examples/README.md``. Bad input ends with one line ``pkpd: error: ...`` on stderr
and exit status 2.

Examples
--------
>>> from pkpd.cli import build_parser
>>> args = build_parser().parse_args(["demo", "--out", "elsewhere", "--n", "200"])
>>> args.command, args.out, args.n, args.seed
('demo', 'elsewhere', 200, 2024)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import __version__

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pkpd", description="pkpd: pharmacokinetic / pharmacodynamic modelling.")
    parser.add_argument("--version", action="version", version=f"pkpd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    demo = sub.add_parser("demo", help="status epilepticus: benzodiazepine timing (figures, summary.csv, report.md)",
                          description="The same midazolam dose given 5, 15, 30 and 60 min after seizure onset: "
                                      "a typical patient and a virtual cohort.")
    demo.add_argument("--out", default="pkpd-demo", help="output folder (default: ./pkpd-demo)")
    demo.add_argument("--n", type=int, default=500, help="virtual cohort size (default: 500)")
    demo.add_argument("--seed", type=int, default=2024, help="random seed of the cohort (default: 2024)")
    demo.add_argument("--quiet", action="store_true", help="print nothing but errors")

    nca = sub.add_parser("nca", help="non-compartmental analysis of a NONMEM-style CSV (nca.csv, nca.md)",
                         description="Non-compartmental analysis (single dose, one row per subject) of a "
                                     "NONMEM-style CSV: writes nca.csv (all metrics) and nca.md (a markdown table).")
    nca.add_argument("data", metavar="DATA.csv", help="NONMEM-style data (ID TIME AMT DV ...)")
    nca.add_argument("--out", default="pkpd-nca", help="output folder (default: ./pkpd-nca)")
    nca.add_argument("--quiet", action="store_true", help="print nothing but errors")

    from ._cli_commands import MODEL_NAMES
    fit = sub.add_parser("fit", help="fit a library model per subject or as a population (estimates, report, PNG)",
                         description="Fit a model of pkpd.models to a NONMEM-style CSV. Without --population: one "
                                     "fit per subject (estimates.csv, report.md, fits.png). With --population: "
                                     "FOCE-I with log-normal IIV 0.1 on CL and V/V1, start values from NCA "
                                     "(table.csv, etas.csv, report.md, gof.png).")
    fit.add_argument("data", metavar="DATA.csv", help="NONMEM-style data (ID TIME AMT DV ...)")
    fit.add_argument("--model", required=True, metavar="NAME",
                     help="model name: " + ", ".join(MODEL_NAMES) + " (snake_case such as one_compartment_oral "
                          "works too)")
    fit.add_argument("--error", default="additive", choices=("additive", "proportional", "combined"),
                     help="residual error model (default: additive)")
    fit.add_argument("--population", action="store_true", help="population fit (FOCE-I) instead of one per subject")
    fit.add_argument("--out", default="pkpd-fit", help="output folder (default: ./pkpd-fit)")
    fit.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def _demo(args) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")      # files only: no display needed
    from .demo import run_demo

    start = time.perf_counter()

    def progress(message):
        if not args.quiet:
            print(f"[{time.perf_counter() - start:5.1f} s] {message}", file=sys.stderr, flush=True)

    result = run_demo(args.out, n=args.n, seed=args.seed, progress=progress)
    if not args.quiet:
        print(result.summary[["delay_min", "cohort_terminated", "cohort_terminated_with_ketamine",
                              "surface_gabaa_at_dose", "e_gaba_at_dose_mv"]].to_string(index=False))
        print(f"wrote {', '.join(str(p) for p in result.files.values())} in {result.seconds:.1f} s")
    return 0


def _nca(args) -> int:
    from ._cli_commands import run_nca

    files = run_nca(args.data, args.out)
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in files.values())}")
    return 0


def _fit(args) -> int:
    from ._cli_commands import run_fit

    files = run_fit(args.data, args.model, error=args.error, population=args.population, out=args.out)
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in files.values())}")
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None) -> int:
    """Entry point of the ``pkpd`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            if args.n < 1:
                raise ValueError(f"--n must be a positive cohort size, got {args.n}")
            return _demo(args)
    except (ValueError, OSError) as exc:
        print(f"pkpd {args.command}: error: {exc}", file=sys.stderr)
        return 2
    from .errors import PkpdError
    try:
        if args.command == "nca":
            return _nca(args)
        if args.command == "fit":
            return _fit(args)
    except (PkpdError, ValueError, OSError) as exc:
        print(f"pkpd: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
