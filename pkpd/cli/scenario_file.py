"""Scenario files (TOML) of ``pkpd simulate`` and ``pkpd trial``: reading and validation.

A scenario file says what to simulate -- a model, a library drug or several library drugs (``drugs``, with
their CYP3A4 and P-gp ``[interactions]`` and ``[genotypes]``), its parameters, dosing regimens (or trial
arms), output times, therapeutic ranges (``[range]``), and for a trial the virtual population and
endpoints -- and is checked completely
before anything is simulated. Every problem is one :class:`ScenarioError` whose message names the file,
the key (``regimens.loading.doses[1].amount``) and what was expected: a missing file, malformed TOML (with
the parser's line and column), an unknown model or drug (with the known names), an unknown key, a wrong
type or value. The full schema, with units and defaults, is in ``examples/README.md``; the keys are also
listed in :data:`SIMULATE_KEYS`, :data:`INTERACTION_KEYS`, :data:`TRIAL_KEYS`, :data:`DOSE_KEYS`,
:data:`POPULATION_KEYS`, :data:`MODEL_KEYS` and :data:`ENDPOINT_KEYS`.

Units: amounts mg (``per_kg``: mg/kg), times in the file's ``time_unit`` (``"h"`` by default, or
``"min"``), infusion ``rate`` mg per ``time_unit``, weight kg, concentrations mg/L; everything is
converted to the toolkit's internal hours here.

Limits (:data:`LIMITS`), checked by key before anything is simulated, so that an absurd number fails at
once instead of after hours or gigabytes: at most :data:`MAX_FILE_BYTES` of text and :data:`MAX_DEPTH`
levels of nested arrays or tables; at most :data:`MAX_TIMES` output times; every time, interval and
duration (and an infusion's ``amount / rate``) at most :data:`MAX_TIME_H` hours; ``addl`` at most
:data:`MAX_ADDL`; amounts at most :data:`MAX_AMOUNT` mg; weights in :data:`WEIGHT_RANGE` kg, ages in
:data:`AGE_RANGE` years; IIV (SD of log) at most :data:`MAX_IIV_SD`; parameter overrides within the model
parameter's bounds, volumes (unit L) at least :data:`MIN_VOLUME`, magnitudes at most :data:`MAX_PARAMETER`;
``rtol`` and ``atol`` in :data:`RTOL_RANGE` and :data:`ATOL_RANGE`; at most :data:`MAX_SUBJECTS` subjects
(``simulate``) and :data:`MAX_POPULATION` (``trial``). Finally the memory of the subjects x times x outputs
arrays is estimated (:func:`simulate_memory`, :func:`trial_memory`) and a scenario above
:data:`MAX_MEMORY_BYTES` is refused with the product and the keys to reduce. Messages show keys and values
with control characters escaped (a key ``"\\x1b[2J"`` cannot clear the terminal).

Uses :mod:`tomllib` (Python >= 3.11) or its backport ``tomli``.

Implementation, one job a module: :mod:`._scenario_schema` (keys, limits, the parsed records),
:mod:`._toml_fields` (the TOML text and its values, read with their place in the file),
:mod:`._scenario_sections` (doses, regimens and arms, population, options read into records),
:mod:`._scenario_build` (the models, regimens, endpoints and trial models they describe); this module puts a
scenario together and checks its size.

Examples
--------
>>> sc = parse_simulate('''
... model = "one_compartment"
... times = {start = 0, stop = 12, step = 6}
... [[doses]]
... amount = 100
... route = "iv"
... ''', "inline.toml")
>>> sc.model.name, sc.times_h.tolist(), list(sc.regimens)
('OneCompartment', [0.0, 6.0, 12.0], ['regimen'])
>>> parse_simulate('model = "four_compartment"', "bad.toml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pkpd.cli.scenario_file.ScenarioError: bad.toml: model: unknown model 'four_compartment'; known models: one_compartment, ...
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import PkpdError
from ._scenario_build import (_check_rate, _drug_key, _drug_names, _drug_regimen, _drug_set, _endpoint,
                              _library_cmt, _library_models, _multi_drug_regimen, _population_groups, _qualify,
                              _regimen, _resolve_drug, _resolve_library_model, _se_groups)
from ._scenario_schema import (AGE_RANGE, ATOL_RANGE, DOSE_KEYS, ENDPOINT_KEYS, ENDPOINT_TYPES, LIBRARY_ROUTES,
                               MAX_ADDL, MAX_AMOUNT, MAX_DEPTH, MAX_FILE_BYTES, MAX_IIV_SD, MAX_MEMORY_BYTES,
                               MAX_PARAMETER, MAX_POPULATION, MAX_SUBJECTS, MAX_TIME_H, MAX_TIMES, MIN_VOLUME,
                               MODEL_KEYS, POPULATION_KEYS, INTERACTION_KEYS, RTOL_RANGE, SE_MODEL_NAMES,
                               SIMULATE_KEYS, TRIAL_KEYS,
                               WEIGHT_RANGE, _RESERVED_ENDPOINT_NAMES, DoseSpec, SimulateScenario, TrialScenario)
from ._scenario_sections import _named_groups, _options, _population, _ranges
from ._toml_fields import (ScenarioError, _Ctx, _got, _iiv_table, _integer, _join, _keys, _number_table, _parse_text,
                           _string, _time_unit, _times, _weight, read_toml)

__all__ = ["ScenarioError", "SimulateScenario", "TrialScenario", "DoseSpec", "load_simulate",
           "load_trial", "parse_simulate", "parse_trial", "read_toml", "SIMULATE_KEYS", "TRIAL_KEYS", "DOSE_KEYS",
           "POPULATION_KEYS", "MODEL_KEYS", "ENDPOINT_KEYS", "INTERACTION_KEYS", "ENDPOINT_TYPES", "SE_MODEL_NAMES",
           "LIBRARY_ROUTES", "LIMITS", "simulate_memory", "trial_memory"]

#: Every limit (each one documented in :mod:`._scenario_schema`) by name (documentation and messages).
LIMITS = {"file size (bytes)": MAX_FILE_BYTES, "nesting depth": MAX_DEPTH, "output times": MAX_TIMES,
          "time (h)": MAX_TIME_H, "addl": MAX_ADDL, "amount (mg)": MAX_AMOUNT, "weight (kg)": WEIGHT_RANGE,
          "age (years)": AGE_RANGE, "IIV (SD of log)": MAX_IIV_SD, "parameter magnitude": MAX_PARAMETER,
          "smallest volume (L)": MIN_VOLUME, "rtol": RTOL_RANGE, "atol": ATOL_RANGE,
          "simulate subjects": MAX_SUBJECTS, "trial subjects": MAX_POPULATION, "memory (bytes)": MAX_MEMORY_BYTES}


def _size(n_bytes: float) -> str:
    for unit, factor in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20)):
        if n_bytes >= factor:
            return f"{n_bytes / factor:.3g} {unit}"
    return f"{n_bytes / 2**10:.3g} kB"


def simulate_memory(subjects: int, times: int, regimens: int, outputs: int, values: int) -> float:
    """Estimated bytes of ``pkpd simulate``'s arrays, 8 bytes a value and a copy of each (pandas builds tables
    by copying): per regimen the simulation's table (ID, TIME and the model's ``values``, its states and
    outputs, for every subject and time), then the table of every regimen (regimen, ID, TIME and the
    ``outputs`` written).

    >>> round(simulate_memory(50, 97, 2, 1, 3) / 2**20, 2)      # examples/simulate_two_regimens.toml: MB
    0.96
    """
    per_subject_time = regimens * (outputs + 3) + values + 2
    return 8.0 * 2 * subjects * times * per_subject_time


def trial_memory(n: int, block: int, grid: int, states: int, arms: int, endpoints: int) -> float:
    """Estimated bytes of ``pkpd trial``'s arrays: a block of subjects (``min(n, block_size)``) simulated
    together -- event table (9 columns) with the states and outputs at every grid time, copied once --
    plus the covariates (about 15 columns) and the endpoint values of every subject in every arm.

    This is the data; the ODE solver's own memory (each accepted step of each subject of the block until
    the block ends) comes on top and grows with the simulated span rather than with the number of times.
    """
    k = min(n, block)
    return 8.0 * 2 * (k * grid * (9 + states) + n * (15 + arms * (endpoints + 2)))


def _check_memory(ctx, where: str, n_bytes: float, product: str, reduce: str) -> None:
    if n_bytes > MAX_MEMORY_BYTES:
        ctx.fail(where, f"about {_size(n_bytes)} of memory for {product} at 8 bytes a value, copied once: more "
                        f"than the {_size(MAX_MEMORY_BYTES)} limit; reduce {reduce}")


# ------------------------------------------------------------------------------------------------
# pkpd simulate
# ------------------------------------------------------------------------------------------------
def load_simulate(path) -> SimulateScenario:
    """Read and validate a ``pkpd simulate`` scenario file."""
    path = Path(path)
    return _simulate(read_toml(path), path.name, str(path))


def parse_simulate(text: str, name: str = "scenario.toml") -> SimulateScenario:
    """Validate a ``pkpd simulate`` scenario given as TOML text (``name`` is used in messages)."""
    return _simulate(_parse_text(text, name), name, name)


def _simulate(doc, name, path) -> SimulateScenario:
    ctx = _Ctx(name)
    _keys(ctx, doc, "", tuple(SIMULATE_KEYS))
    unit, scale = _time_unit(ctx, doc)
    title = _string(ctx, doc.get("title"), "title", default=Path(name).stem)
    weight = _weight(ctx, doc.get("weight"), "weight")
    given = [k for k in ("model", "drug", "drugs") if k in doc]
    if len(given) != 1:
        ctx.fail(given[0] if given else "model", "give exactly one of model (a library model), drug (a library "
                 "drug) or drugs (several library drugs)" if given else "missing: give model = "
                 "\"one_compartment_oral\" (a library model, e.g. " + ", ".join(_library_models())
                 + ") or drug = \"midazolam\" (a library drug) or drugs = [\"midazolam\", \"rifampicin\"]")
    drug = None
    made, interactions, genotypes = {}, {}, {}
    if "model" in doc:
        base_model = _resolve_library_model(ctx, _string(ctx, doc["model"], "model"), "model")
        prefix = ""
        for k in ("genotypes", "interactions"):
            if k in doc:
                ctx.fail(k, "only with drug or drugs (library drugs)")
        label = base_model.name
    else:
        base_model = None
        if "drug" in doc:
            drug = _resolve_drug(ctx, _string(ctx, doc["drug"], "drug"), "drug", weight)
            keys = [_drug_key(doc["drug"])]
        else:
            keys = _drug_names(ctx, doc["drugs"], "drugs")
        if "drugs" in doc or "genotypes" in doc or "interactions" in doc:
            made, interactions, genotypes = _drug_set(ctx, keys, weight, doc)
        if "drug" in doc and made:
            drug = made[keys[0]]
        prefix = drug.prefix if drug is not None else (made[keys[0]].prefix if len(made) == 1 else "")
        label = ", ".join(d.name for d in made.values()) if made else drug.name
        for k, names in interactions.items():
            label += f"; {k.replace('_', ' ').replace('cyp3a4', 'CYP3A4').replace('pgp', 'P-gp')}: {', '.join(names)}"
        for k, genes in genotypes.items():
            label += f"; genotype of {k}: " + ", ".join(f"{g} {d}" for g, d in genes.items())
    times = _times(ctx, doc.get("times"), "times", scale)
    groups = _named_groups(ctx, doc, "doses", "regimens", scale, allow_drug=bool(made))
    subjects = _integer(ctx, doc.get("subjects"), "subjects", minimum=1, default=1)
    if subjects > MAX_SUBJECTS:
        ctx.fail("subjects", f"at most {MAX_SUBJECTS} subjects, got {subjects}")
    seed = _integer(ctx, doc.get("seed"), "seed", minimum=0, default=2024)

    regimens = {}
    for rname, specs in groups.items():
        if made:
            model, params, cmts = _multi_drug_regimen(ctx, made, interactions, specs)
        elif drug is not None:
            model, params, cmts = _drug_regimen(ctx, drug, specs)
        else:
            model = base_model
            params = {p.name: p.default for p in model.parameters}
            cmts = [_library_cmt(ctx, model, s) for s in specs]
        regimens[rname] = [model, params, _regimen(ctx, specs, cmts, weight), specs]
    first_model = next(iter(regimens.values()))[0]
    known = [p.name for p in first_model.parameters]
    overrides = _qualify(ctx, _number_table(ctx, doc.get("parameters"), "parameters"), known, prefix, "parameters",
                         parameters={p.name: p for p in first_model.parameters})
    iiv = _qualify(ctx, _iiv_table(ctx, doc.get("iiv"), "iiv"), known, prefix, "iiv")
    for entry in regimens.values():
        entry[1] = {**entry[1], **overrides}
    available = list(first_model.outputs) + list(first_model.states)
    outputs = doc.get("outputs")
    if outputs is None:
        outputs = [first_model.outputs[0]]
    if not isinstance(outputs, list) or not outputs:
        ctx.fail("outputs", f"expected a non-empty array of output names, {_got(outputs)}")

    def resolve(o, where):
        o = _string(ctx, o, where)
        if o not in available and prefix and f"{prefix}.{o}" in available:
            o = f"{prefix}.{o}"
        if o not in available:
            ctx.fail(where, f"unknown output {o!r}; known: {', '.join(available)}")
        return o

    resolved = [resolve(o, _join("outputs", i)) for i, o in enumerate(outputs)]
    outputs = tuple(dict.fromkeys(resolved))

    def resolve_written(o, where):
        o = resolve(o, where)
        if o not in outputs:
            ctx.fail(where, f"{o!r} is not among the outputs written ({', '.join(outputs)}); add it to outputs")
        return o

    ranges = _ranges(ctx, doc.get("range"), resolve_written)
    values = max(len(m.states) + len(m.outputs) for m, *_ in regimens.values())
    per = simulate_memory(1, 1, len(regimens), len(outputs), values) / 16
    _check_memory(ctx, "subjects", simulate_memory(subjects, len(times), len(regimens), len(outputs), values),
                  f"subjects x times x values = {subjects} x {len(times)} x {per:.0f} (the model's states and "
                  f"outputs, the outputs of {len(regimens)} regimen(s))", "subjects, the number of times "
                  "(times.step, times.stop) or of regimens and outputs")
    return SimulateScenario(path, title, unit, times, first_model, drug, weight, outputs,
                            {k: tuple(v) for k, v in regimens.items()}, iiv, subjects, seed,
                            drugs=tuple(made.values()) if made else (() if drug is None else (drug,)),
                            interactions=interactions, genotypes=genotypes, ranges=ranges, label=label)


# ------------------------------------------------------------------------------------------------
# pkpd trial
# ------------------------------------------------------------------------------------------------
def load_trial(path, n: int | None = None) -> TrialScenario:
    """Read and validate a ``pkpd trial`` scenario file (``n`` overrides ``population.n``)."""
    path = Path(path)
    return _trial(read_toml(path), path.name, str(path), n)


def parse_trial(text: str, name: str = "trial.toml", n: int | None = None) -> TrialScenario:
    """Validate a ``pkpd trial`` scenario given as TOML text."""
    return _trial(_parse_text(text, name), name, name, n)


def _trial(doc, name, path, n_override) -> TrialScenario:
    from ..trials import Dose

    ctx = _Ctx(name)
    _keys(ctx, doc, "", tuple(TRIAL_KEYS), required=("population", "model", "arms", "times", "endpoints"))
    unit, scale = _time_unit(ctx, doc)
    title = _string(ctx, doc.get("title"), "title", default=Path(name).stem)
    seed = _integer(ctx, doc.get("seed"), "seed", minimum=0, default=2024)
    population = _population(ctx, doc["population"], n_override)
    times = _times(ctx, doc["times"], "times", scale)
    mtab = doc["model"]
    _keys(ctx, mtab, "model", tuple(MODEL_KEYS), required=("name",))
    mname = _string(ctx, mtab["name"], "model.name")
    se = mname.strip().lower().replace("-", "_").replace(" ", "_") in SE_MODEL_NAMES
    arms = _named_groups(ctx, doc, None, "arms", scale, allow_drug=True)
    overrides = _number_table(ctx, mtab.get("parameters"), "model.parameters")
    iiv = _iiv_table(ctx, mtab.get("iiv"), "model.iiv")
    opts = _options(ctx, doc.get("options"))
    if se:
        groups, dose_arms, available, label = _se_groups(ctx, mtab, arms, overrides, iiv)
    else:
        for k in ("drugs",):
            if k in mtab:
                ctx.fail(_join("model", k), "only for the status-epilepticus model (name = \"status_epilepticus\")")
        groups, dose_arms, available, label = _population_groups(ctx, mtab, mname, arms, overrides, iiv)
    default_output = "SEIZURE.ACTIVITY" if se else available[0]
    eps = doc["endpoints"]
    if isinstance(eps, Mapping):
        eps = [eps]
    if not isinstance(eps, list) or not eps:
        ctx.fail("endpoints", f"expected a non-empty array of endpoint tables ([[endpoints]]), {_got(eps)}")
    endpoint_list = [_endpoint(ctx, e, _join("endpoints", i), scale, default_output, available)
                     for i, e in enumerate(eps)]
    names = [e.name for e in endpoint_list]
    dup = [n for n in names if names.count(n) > 1]
    if dup:
        ctx.fail("endpoints", f"endpoint name {dup[0]!r} is used twice; give one of them a name")
    for i, n in enumerate(names):
        if n in _RESERVED_ENDPOINT_NAMES:         # columns of subjects.csv (pkpd.trials.TrialDesign refuses them)
            ctx.fail(_join(_join("endpoints", i), "name"), f"{n!r} is reserved (a column of subjects.csv); "
                                                           "give another name")
    plot_output = _string(ctx, doc.get("plot_output"), "plot_output", default=endpoint_list[0].outputs[0])
    if plot_output not in available:
        ctx.fail("plot_output", f"unknown output {plot_output!r}; known: {', '.join(available)}")
    arms_out = {}
    for arm, specs in dose_arms.items():
        doses = []
        for s, cmt in specs:
            duration = s.duration
            if s.rate is not None:
                if s.per_kg:
                    ctx.fail(_join(s.where, "rate"), "a per_kg dose in a trial arm needs duration, not rate")
                duration = _check_rate(ctx, s, s.amount)
            try:
                doses.append(Dose(cmt, s.amount, per_kg=s.per_kg, max_amount=s.max_amount, time=s.time,
                                  duration=duration, ii=s.ii, addl=s.addl))
            except PkpdError as exc:
                ctx.fail(s.where, str(exc))
        arms_out[arm] = doses
    n, block = population["n"], opts.get("block_size", 1000)
    grid = len(np.union1d(times, [t for e in endpoint_list for t in getattr(e, "times", ())]))
    states = max(len(source.model.states) + len(source.model.outputs) for source, _ in groups)
    k, n_arms, per_subject = min(n, block), len(arms_out), 15 + len(arms_out) * (len(endpoint_list) + 2)
    block_part = k * grid * (9 + states) > n * per_subject
    _check_memory(ctx, "options.block_size" if block_part else "population.n",
                  trial_memory(n, block, grid, states, n_arms, len(endpoint_list)),
                  f"subjects simulated together x times x values = {k} x {grid} x {9 + states} (events, states, "
                  f"outputs) + subjects x values = {n} x {per_subject} (covariates, endpoints of {n_arms} arm(s))",
                  "options.block_size (default 1000) or the number of times (times.step, times.stop)" if block_part
                  else "population.n (or --n), or the number of arms and endpoints")
    return TrialScenario(path, title, unit, times, population, groups, arms_out, tuple(endpoint_list), seed,
                         plot_output, opts, label)
