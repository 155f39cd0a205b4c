"""A peer baseline: the same equations as a compiled C model run by R's deSolve (``lsoda``), one subject at a time.

:func:`c_source` writes a model's :class:`~pkpd.models.Equations` (declared or traced, as the compiled engine
uses them) as a deSolve compiled model (``initmod`` + ``derivs``, Soetaert, Petzoldt & Setzer 2010, J Stat Softw
33(9), and deSolve's vignette "compiledCode"); :func:`run` compiles it with ``R CMD SHLIB`` and times a loop of
``deSolve::ode(..., method = "lsoda")`` over subjects with bolus doses as deSolve events, in one ``Rscript``.
"""

from __future__ import annotations

import ast
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_CALL = {"exp": "exp", "log": "log", "sqrt": "sqrt", "abs": "fabs", "expm1": "expm1", "log1p": "log1p",
         "pow": "pow", "max": "fmax", "min": "fmin"}


def _c(node) -> str:
    kind = type(node)
    if kind is ast.Constant:
        value = float(node.value)
        return repr(value) if math.isfinite(value) else "INFINITY"
    if kind is ast.Name:
        return node.id
    if kind is ast.BinOp:
        a, b = _c(node.left), _c(node.right)
        return f"pow({a}, {b})" if isinstance(node.op, ast.Pow) else f"({a} {_BINARY[type(node.op)]} {b})"
    if kind is ast.UnaryOp:
        return f"(-{_c(node.operand)})" if isinstance(node.op, ast.USub) else _c(node.operand)
    if kind is ast.Compare:
        return f"(({_c(node.left)} {_COMPARE[type(node.ops[0])]} {_c(node.comparators[0])}) ? 1.0 : 0.0)"
    if kind is ast.Call:
        name, args = node.func.id, [_c(a) for a in node.args]
        if name == "where":
            return f"(({args[0]}) != 0.0 ? ({args[1]}) : ({args[2]}))"
        out = args[0]
        for a in args[1:]:                              # min/max of several values, pairwise
            out = f"{_CALL[name]}({out}, {a})"
        return out if len(args) > 1 else f"{_CALL[name]}({out})"
    raise ValueError(f"cannot write {ast.unparse(node)} in C")


def c_source(eq) -> str:
    """The deSolve compiled model of ``eq``: parameters by position, inputs (rates) zero."""
    expr = lambda text: _c(ast.parse(text, mode="eval").body)  # noqa: E731
    lines = ["#include <R.h>", "#include <math.h>", f"static double parms[{len(eq.parameters)}];",
             "void initmod(void (* odeparms)(int *, double *)) {",
             f"    int N = {len(eq.parameters)};", "    odeparms(&N, parms);", "}",
             "void derivs(int *neq, double *t_, double *y, double *ydot, double *yout, int *ip) {",
             "    double t = *t_;"]
    lines += [f"    double {name} = parms[{i}];" for i, name in enumerate(eq.parameters)]
    lines += [f"    double {name} = y[{i}];" for i, name in enumerate(eq.states)]
    lines += [f"    double {name} = 0.0;" for name in eq.rates]
    lines += [f"    double {name} = {expr(text)};" for name, text in eq.quantities]
    lines += [f"    ydot[{i}] = {expr(text)};" for i, text in enumerate(eq.derivatives)]
    lines += ["    (void) t; (void) neq; (void) yout; (void) ip;", "}"]
    return "\n".join(lines) + "\n"


_SCRIPT = """
suppressMessages(library(deSolve))
dyn.load(paste0("model", .Platform$dynlib.ext))
P <- as.matrix(read.csv("params.csv", header = FALSE))
Y0 <- as.matrix(read.csv("y0.csv", header = FALSE))
ev <- read.csv("events.csv")
times <- scan("times.txt", quiet = TRUE)
k <- {column}
out <- matrix(0, nrow(P), length(times))
start <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(P))) {{
  o <- ode(y = Y0[i, ], times = times, func = "derivs", parms = P[i, ], dllname = "model", initfunc = "initmod",
           events = list(data = ev), method = "lsoda", rtol = {rtol}, atol = {atol})
  out[i, ] <- o[, 1 + k]
}}
elapsed <- proc.time()[["elapsed"]] - start
write.table(out, "out.csv", sep = ",", row.names = FALSE, col.names = FALSE)
cat(elapsed, "\\n")
"""


def available() -> bool:
    """True when ``Rscript`` is on the path and deSolve loads."""
    if shutil.which("Rscript") is None:
        return False
    check = subprocess.run(["Rscript", "-e", "library(deSolve)"], capture_output=True)
    return check.returncode == 0


def run(eq, params: np.ndarray, y0: np.ndarray, doses, times, state: int, *, rtol=1e-6, atol=1e-9):
    """Seconds of the deSolve loop (R's own clock, around the loop only) and the state ``state`` at ``times``
    per subject. ``doses``: (time, state index, amount) boluses, the same for every subject."""
    with tempfile.TemporaryDirectory() as folder:
        d = Path(folder)
        (d / "model.c").write_text(c_source(eq))
        subprocess.run(["R", "CMD", "SHLIB", "model.c"], cwd=d, check=True, capture_output=True)
        np.savetxt(d / "params.csv", params, delimiter=",", fmt="%.17g")
        np.savetxt(d / "y0.csv", y0, delimiter=",", fmt="%.17g")
        np.savetxt(d / "times.txt", times, fmt="%.17g")
        pd.DataFrame({"var": [s + 1 for _, s, _ in doses], "time": [t for t, _, _ in doses],
                      "value": [a for _, _, a in doses], "method": "add"}).to_csv(d / "events.csv", index=False)
        (d / "run.R").write_text(_SCRIPT.format(column=state + 1, rtol=rtol, atol=atol))
        done = subprocess.run(["Rscript", "run.R"], cwd=d, check=True, capture_output=True, text=True)
        return float(done.stdout.split()[-1]), np.loadtxt(d / "out.csv", delimiter=",", ndmin=2)
