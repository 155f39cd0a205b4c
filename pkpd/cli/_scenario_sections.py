"""The sections of a scenario file read into plain records, every value checked against its key.

Dose tables become :class:`DoseSpec` (times in hours), ``[[doses]]``, ``[regimens.NAME]`` and ``[arms.NAME]``
named lists of them (:func:`_named_groups`), ``[population]`` the keyword arguments of
:meth:`pkpd.Population.virtual` (:func:`_population`), a trial's ``[options]`` a dict (:func:`_options`) and
``[range]`` output -> (lower, upper) (:func:`_ranges`).
Nothing of pkpd is built here (:mod:`._scenario_build` does that).
"""

from __future__ import annotations

from collections.abc import Mapping

from ._scenario_schema import (AGE_RANGE, ATOL_RANGE, DOSE_KEYS, MAX_ADDL, MAX_AMOUNT, MAX_POPULATION,
                               POPULATION_KEYS, RTOL_RANGE, WEIGHT_RANGE, DoseSpec)
from ._toml_fields import _boolean, _got, _integer, _join, _keys, _number, _string, _time


def _dose(ctx, table, where, scale, *, allow_drug: bool) -> DoseSpec:
    allowed = tuple(k for k in DOSE_KEYS if allow_drug or k != "drug")
    _keys(ctx, table, where, allowed, required=("amount",))
    g = table.get
    amount = _number(ctx, g("amount"), _join(where, "amount"), minimum=0.0, maximum=MAX_AMOUNT)
    per_kg = _boolean(ctx, g("per_kg"), _join(where, "per_kg"))
    cap = _number(ctx, g("max_amount"), _join(where, "max_amount"), minimum=0.0, maximum=MAX_AMOUNT, default=None)
    duration = _time(ctx, g("duration"), _join(where, "duration"), scale, positive=True, default=None)
    rate = _number(ctx, g("rate"), _join(where, "rate"), positive=True, default=None)
    if duration is not None and rate is not None:
        ctx.fail(_join(where, "rate"), "give either duration or rate, not both")
    if "cmt" in table and "route" in table:
        ctx.fail(_join(where, "cmt"), "give either cmt or route, not both")
    cmt = g("cmt")
    if cmt is not None and (isinstance(cmt, bool) or not isinstance(cmt, (str, int)) or cmt == ""):
        ctx.fail(_join(where, "cmt"), f"expected a compartment name or number, {_got(cmt)}")
    route = _string(ctx, g("route"), _join(where, "route"), default=None)
    drug = _string(ctx, g("drug"), _join(where, "drug"), default=None)
    ii = _time(ctx, g("ii"), _join(where, "ii"), scale, default=0.0)
    addl = _integer(ctx, g("addl"), _join(where, "addl"), minimum=0, maximum=MAX_ADDL, default=0)
    if addl > 0 and ii <= 0:
        ctx.fail(_join(where, "ii"), f"addl = {addl} needs a dosing interval ii > 0")
    return DoseSpec(where, amount, cmt, time=_time(ctx, g("time"), _join(where, "time"), scale, default=0.0)
                    * scale, per_kg=per_kg, max_amount=cap, duration=None if duration is None else duration * scale,
                    rate=None if rate is None else rate / scale, ii=ii * scale, addl=addl, drug=drug, route=route)


def _dose_list(ctx, value, where, scale, *, allow_drug: bool) -> list:
    if isinstance(value, Mapping):            # a single [regimens.x.doses] table
        value = [value]
    if not isinstance(value, list) or not value:
        ctx.fail(where, f"expected a non-empty array of dose tables ([[{where}]]), {_got(value)}")
    return [_dose(ctx, d, _join(where, i), scale, allow_drug=allow_drug) for i, d in enumerate(value)]


def _named_groups(ctx, doc, single: str | None, plural: str, scale, *, allow_drug: bool) -> dict:
    """``{name: [DoseSpec]}`` from ``[[doses]]`` (one group named ``regimen``) or ``[plural.NAME]``."""
    if single is not None and single in doc and plural in doc:
        ctx.fail(plural, f"give either {single} (one regimen) or {plural} (several), not both")
    if single is not None and single in doc:
        return {"regimen": _dose_list(ctx, doc[single], single, scale, allow_drug=allow_drug)}
    groups = doc.get(plural)
    if groups is None:
        what = f"{single} or {plural}" if single else plural
        ctx.fail(what, f"missing: give {'[[doses]] or ' if single else ''}[[{plural}.NAME.doses]] tables")
    if not isinstance(groups, Mapping) or not groups:
        ctx.fail(plural, f"expected a table of named {plural} ([{plural}.NAME]), {_got(groups)}")
    out = {}
    for name, body in groups.items():
        where = _join(plural, name)
        if isinstance(body, list):
            out[name] = _dose_list(ctx, body, where, scale, allow_drug=allow_drug)
            continue
        _keys(ctx, body, where, ("doses",), required=("doses",))
        out[name] = _dose_list(ctx, body["doses"], _join(where, "doses"), scale, allow_drug=allow_drug)
    return out


def _population(ctx, table, n_override) -> dict:
    _keys(ctx, table, "population", tuple(POPULATION_KEYS), required=() if n_override else ("n",))
    g = table.get
    n = n_override if n_override else _integer(ctx, g("n"), "population.n", minimum=1)
    if n > MAX_POPULATION:
        ctx.fail("--n" if n_override else "population.n", f"at most {MAX_POPULATION} subjects, got {n}")
    ancestry = _string(ctx, g("ancestry"), "population.ancestry", default="European")
    if ancestry.lower() == "none":
        ancestry = None
    out = {"n": n, "ancestry": ancestry, "seed": _integer(ctx, g("seed"), "population.seed", minimum=0, default=2024),
           "sex": _number(ctx, g("female"), "population.female", minimum=0.0, default=0.5)}
    if out["sex"] > 1:
        ctx.fail("population.female", f"expected a fraction in [0, 1], got {out['sex']:g}")
    for key in ("age", "weight"):
        value = g(key)
        if value is None:
            continue
        where = f"population.{key}"
        if not isinstance(value, list) or len(value) != 4:
            ctx.fail(where, f"expected [mean, SD, lower, upper], {_got(value)}")
        mean, sd, lo, hi = (_number(ctx, v, _join(where, i)) for i, v in enumerate(value))
        if not (sd > 0 and lo < hi and lo <= mean <= hi):
            ctx.fail(where, f"expected [mean, SD > 0, lower, upper] with lower <= mean <= upper, got {value}")
        least, most = AGE_RANGE if key == "age" else WEIGHT_RANGE
        unit = "years" if key == "age" else "kg"
        if lo < least:
            ctx.fail(_join(where, 2), f"expected a lower bound >= {least:g} {unit}, got {lo:g}")
        if hi > most:
            ctx.fail(_join(where, 3), f"expected an upper bound <= {most:g} {unit}, got {hi:g}")
        out[key] = (mean, sd, lo, hi)
    if ancestry is not None:
        from ..errors import ModelError
        from ..physiology.genetics import allele_frequencies
        try:
            allele_frequencies("CYP2C19", ancestry)
        except (ModelError, KeyError, ValueError) as exc:
            ctx.fail("population.ancestry", " ".join(str(exc).split()).strip("'\""))
    return out


def _options(ctx, table) -> dict:
    if table is None:
        return {}
    _keys(ctx, table, "options", ("block_size", "chunk_size", "rtol", "atol", "solver"))
    out = {}
    for k in ("block_size", "chunk_size"):
        if k in table:
            out[k] = _integer(ctx, table[k], f"options.{k}", minimum=1)
    for k, (lo, hi) in (("rtol", RTOL_RANGE), ("atol", ATOL_RANGE)):
        if k in table:
            out[k] = _number(ctx, table[k], f"options.{k}", positive=True, maximum=hi)
            if out[k] < lo:
                ctx.fail(f"options.{k}", f"expected a number >= {lo:g}, got {out[k]:g}")
    if "solver" in table:
        out["solver"] = _string(ctx, table["solver"], "options.solver", choices=("dp5", "lsoda", "bdf", "radau"))
    return out


def _ranges(ctx, table, resolve) -> dict:
    """``[range]`` output = [lower, upper], lower < upper; ``resolve(name, where)`` gives the output's
    qualified name (or fails)."""
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        ctx.fail("range", f"expected a table of output = [lower, upper], {_got(table)}")
    out = {}
    for name, value in table.items():
        where = _join("range", name)
        output = resolve(name, where)
        if not isinstance(value, list) or len(value) != 2:
            ctx.fail(where, f"expected [lower, upper] (two numbers in the output's unit), {_got(value)}")
        lo, hi = (_number(ctx, v, _join(where, i)) for i, v in enumerate(value))
        if not lo < hi:
            ctx.fail(where, f"expected [lower, upper] with lower < upper, got [{lo:g}, {hi:g}]")
        if output in out:
            ctx.fail(where, f"a second range for {output!r}")
        out[output] = (lo, hi)
    return out
