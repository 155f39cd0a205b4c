"""The pkpd objects a scenario describes, each problem a :class:`ScenarioError` naming the key.

Library models and drugs (:func:`_resolve_library_model`, :func:`_resolve_drug`; a drug composed for the
routes of a regimen, :func:`_drug_regimen`), parameter names qualified and checked (:func:`_qualify`), the
compartment of each dose (:func:`_library_cmt`, :func:`_check_state`), :class:`pkpd.Regimen` s
(:func:`_regimen`), trial endpoints (:func:`_endpoint`) and the models of a trial's arms: status-epilepticus
models, one per benzodiazepine (:func:`_se_groups`), or one :class:`pkpd.population.PopulationModel` of a library
model or drug (:func:`_population_groups`). Several drugs of ``pkpd simulate`` in one model, with their
genotypes and CYP3A4 / P-gp interactions (:func:`_drug_names`, :func:`_drug_set`, :func:`_multi_drug_regimen`).
pkpd's packages are imported inside the functions that use them.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import PkpdError
from ._scenario_schema import ENDPOINT_TYPES, LIBRARY_ROUTES, MAX_TIME_H, DoseSpec
from ._toml_fields import ScenarioError, _check_parameter, _got, _join, _keys, _number, _string, _time, _weight


def _library_models() -> dict:
    from ..models.registry import MODEL_NAMES, snake_name as _snake

    return {_snake(n): n for n in MODEL_NAMES}


def _resolve_library_model(ctx, name, where):
    from ..models.registry import resolve_model

    try:
        return resolve_model(name)
    except PkpdError as exc:
        ctx.fail(where, str(exc))


def _resolve_drug(ctx, name, where, weight):
    from .. import drugs

    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in drugs.LIBRARY:
        ctx.fail(where, f"unknown drug {name!r}; known drugs: {', '.join(drugs.LIBRARY)}")
    try:
        return drugs.LIBRARY[key](weight=weight)
    except TypeError:                                  # pragma: no cover - a constructor without weight
        return drugs.LIBRARY[key]()


def _qualify(ctx, names, known, prefix, where, parameters=None) -> dict:
    """Map a table of parameter names (local or qualified) to the model's qualified names; with
    ``parameters`` (name -> :class:`pkpd.models.Parameter`), check each value against its bounds."""
    out = {}
    for name, value in names.items():
        if name in known:
            qualified = name
        elif prefix and f"{prefix}.{name}" in known:
            qualified = f"{prefix}.{name}"
        else:
            ctx.fail(_join(where, name), f"unknown parameter; known: {', '.join(known)}")
        if parameters is not None and qualified in parameters:
            _check_parameter(ctx, _join(where, name), value, parameters[qualified])
        out[qualified] = value
    return out


def _library_cmt(ctx, model, spec: DoseSpec):
    states = list(model.states)
    if spec.cmt is not None:
        _check_state(ctx, model, spec.cmt, _join(spec.where, "cmt"))
        return spec.cmt
    route = spec.route or "iv"
    if route not in LIBRARY_ROUTES:
        ctx.fail(_join(spec.where, "route"), f"unknown route {route!r}; expected one of {', '.join(LIBRARY_ROUTES)}")
    if route == "iv":
        central = [s for s in states if s.split(".")[-1] == "CENTRAL"]
        return central[0] if central else states[0]
    depot = [s for s in states if s.split(".")[-1] == "DEPOT"]
    if not depot:
        ctx.fail(_join(spec.where, "route"), f"{model.name} has no DEPOT compartment for a {route!r} dose; "
                                             f"use route = \"iv\" or cmt (one of {', '.join(states)})")
    return depot[0]


def _check_state(ctx, model, cmt, where):
    states = list(model.states)
    if isinstance(cmt, str):
        if cmt not in states:
            ctx.fail(where, f"unknown compartment {cmt!r}; {model.name} has {', '.join(states)}")
    elif not 1 <= cmt <= len(states):
        ctx.fail(where, f"compartment number {cmt} is outside 1..{len(states)} ({', '.join(states)})")


def _regimen(ctx, specs, cmts, weight):
    from ..dosing import Bolus, Infusion, Regimen

    parts = []
    for spec, cmt in zip(specs, cmts):
        amount = spec.amount * (weight if spec.per_kg else 1.0)
        if spec.max_amount is not None:
            amount = min(amount, spec.max_amount)
        if spec.rate is not None:
            _check_rate(ctx, spec, amount)
        kw = dict(time=spec.time, cmt=cmt, ii=spec.ii, addl=spec.addl)
        try:
            if spec.duration is not None:
                parts.append(Infusion(amount, duration=spec.duration, **kw))
            elif spec.rate is not None:
                parts.append(Infusion(amount, rate=spec.rate, **kw))
            else:
                parts.append(Bolus(amount, **kw))
        except PkpdError as exc:
            ctx.fail(spec.where, str(exc))
    return Regimen(parts)


def _check_rate(ctx, spec: DoseSpec, amount: float) -> float:
    """The duration (h) of an infusion of ``amount`` mg at ``spec.rate`` mg/h: at most :data:`MAX_TIME_H`."""
    duration = amount / spec.rate
    if not duration <= MAX_TIME_H:
        ctx.fail(_join(spec.where, "rate"), f"the infusion of {amount:g} mg would last {duration:.3g} h (at most "
                                            f"{MAX_TIME_H:g} h): give a larger rate or a duration")
    return duration


def _drug_regimen(ctx, drug, specs):
    from ..drugs import DEPOT_ROUTES
    from ..models import compose

    depot = None
    for s in specs:
        route = s.route or ("iv" if s.cmt is None else None)
        if route is None:
            continue
        if route not in drug.routes:
            ctx.fail(_join(s.where, "route"), f"{drug.name} has no route {route!r}; known routes: "
                                              f"{', '.join(drug.routes)}")
        if route in DEPOT_ROUTES:
            if depot is not None and route != depot:
                ctx.fail(_join(s.where, "route"), f"one regimen cannot mix the depot routes {depot!r} and {route!r} "
                                                  f"(they share {drug.prefix}.DEPOT, F1 and KA); use two regimens")
            depot = route
    d = drug.with_route(depot) if depot else drug
    model = compose(*d.components())
    cmts = []
    for s in specs:
        if s.cmt is not None:
            _check_state(ctx, model, s.cmt, _join(s.where, "cmt"))
            cmts.append(s.cmt)
        else:
            cmts.append(d.routes[s.route or "iv"]["cmt"])
    return model, dict(d.params), cmts


def _endpoint(ctx, table, where, scale, default_output, available):
    from ..trials import endpoints

    if not isinstance(table, Mapping):
        ctx.fail(where, f"expected an endpoint table ([[endpoints]]), {_got(table)}")
    kind = _string(ctx, table.get("type"), _join(where, "type"), choices=tuple(ENDPOINT_TYPES))
    needs, optional = ENDPOINT_TYPES[kind]
    _keys(ctx, table, where, ("type", "name", "output", *needs, *optional), required=needs)
    g = table.get
    name = _string(ctx, g("name"), _join(where, "name"), default=None)
    seizure = kind in ("terminated_by", "time_to_termination")
    output = _string(ctx, g("output"), _join(where, "output"),
                     default="SEIZURE.ACTIVITY" if seizure else default_output)
    if output not in available:
        ctx.fail(_join(where, "output"), f"unknown output {output!r}; known: {', '.join(available)}")
    threshold = _number(ctx, g("threshold"), _join(where, "threshold"), positive=True, default=0.1)
    try:
        if kind == "terminated_by":
            t = _time(ctx, g("time"), _join(where, "time"), scale, positive=True) * scale
            return endpoints.terminated_by(t, output, threshold, name=name)
        if kind == "time_to_termination":
            return endpoints.time_to_termination(output, threshold, name=name)
        if kind == "time_above":
            c = _number(ctx, g("concentration"), _join(where, "concentration"), minimum=0.0)
            return endpoints.time_above(output, c, name=name)
        if kind == "auc":
            start = _time(ctx, g("start"), _join(where, "start"), scale, default=0.0) * scale
            end = _time(ctx, g("end"), _join(where, "end"), scale, positive=True, default=None)
            return endpoints.auc(output, start, None if end is None else end * scale, name=name)
        if kind == "cmax":
            return endpoints.cmax(output, name=name)
        if kind == "minimum":
            return endpoints.minimum(output, name=name)
        t = _time(ctx, g("time"), _join(where, "time"), scale) * scale
        return endpoints.trough(output, t, name=name)
    except ScenarioError:                 # already names the file and the key
        raise
    except PkpdError as exc:
        ctx.fail(where, str(exc))


def _se_groups(ctx, mtab, arms, overrides, iiv):
    """Status epilepticus: one model per benzodiazepine (the model holds at most one); arms grouped so.

    The patients are the same in every group: :func:`pkpd.trials.se_population` draws each random effect
    from its own stream (severity; each drug's PK), whichever drugs the model holds."""
    from dataclasses import replace

    from ..se import scenarios
    from ..drugs import DEPOT_ROUTES
    from ..se.population import se_population

    known_drugs = ", ".join(scenarios.DRUGS)
    listed = mtab.get("drugs")
    if listed is not None:
        if not isinstance(listed, list) or not listed:
            ctx.fail("model.drugs", f"expected a non-empty array of drug names, {_got(listed)}")
        for i, d in enumerate(listed):
            if _string(ctx, d, _join("model.drugs", i)) not in scenarios.DRUGS:
                ctx.fail(_join("model.drugs", i), f"unknown drug {d!r}; known drugs of the status-epilepticus "
                                                  f"model: {known_drugs}")
    for k in iiv:
        if k not in scenarios.IIV:
            ctx.fail(_join("model.iiv", k), f"unknown IIV key; expected one of: {', '.join(scenarios.IIV)}")
    routes, arm_drugs = {}, {}
    for arm, specs in arms.items():
        used = []
        for i, s in enumerate(specs):
            if s.drug is None:
                if s.cmt is not None:
                    continue
                if not (listed and len(listed) == 1):
                    ctx.fail(_join(s.where, "drug"), f"missing: which drug is given (one of {known_drugs})")
                s = specs[i] = replace(s, drug=listed[0])
            if s.drug not in scenarios.DRUGS:
                ctx.fail(_join(s.where, "drug"), f"unknown drug {s.drug!r}; known drugs of the status-epilepticus "
                                                 f"model: {known_drugs}")
            if listed is not None and s.drug not in listed:
                ctx.fail(_join(s.where, "drug"), f"{s.drug!r} is not one of model.drugs {listed}")
            made = scenarios.DRUGS[s.drug]["make"]()
            route = s.route or ("iv" if s.cmt is None else None)
            if route is not None:
                if route not in made.routes:
                    ctx.fail(_join(s.where, "route"), f"{s.drug} has no route {route!r}; known routes: "
                                                      f"{', '.join(made.routes)}")
                if route in DEPOT_ROUTES:
                    if routes.get(s.drug, route) != route:
                        ctx.fail(_join(s.where, "route"), f"{s.drug} is given by two depot routes ({routes[s.drug]!r} "
                                                          f"and {route!r}); the model has one depot per drug")
                    routes[s.drug] = route
            if s.drug not in used:
                used.append(s.drug)
        arm_drugs[arm] = used
    order = list(scenarios.DRUGS)
    groups: dict = {}
    for arm, used in arm_drugs.items():
        bzd = [d for d in used if scenarios.DRUGS[d]["role"] == "bzd"]
        if len(bzd) > 1:
            ctx.fail(_join("arms", arm), f"at most one benzodiazepine per arm (the model has one BZD effect), got "
                                         f"{', '.join(bzd)}")
        groups.setdefault(bzd[0] if bzd else None, []).append(arm)
    if None in groups and len(groups) > 1:          # arms without a benzodiazepine join the first group
        extra = groups.pop(None)
        groups[next(iter(groups))].extend(extra)
    others = [d for d in (listed or []) if scenarios.DRUGS[d]["role"] != "bzd"]
    out, dose_arms, available, used_params = [], {}, None, set()
    for arm_names in groups.values():
        drugs = set(others) | {d for a in arm_names for d in arm_drugs[a]}
        drugs = tuple(sorted(drugs, key=order.index)) or ("midazolam",)
        group_routes = {d: routes[d] for d in drugs if d in routes}
        try:
            model = scenarios.se_model(drugs)
            known = {p.name: p for p in model.parameters}
            mine = {k: v for k, v in overrides.items() if k in known}
            for k, v in mine.items():
                _check_parameter(ctx, _join("model.parameters", k), v, known[k])
            used_params |= set(mine)
            source = se_population(drugs, iiv=iiv, params=mine, routes=group_routes)
        except ScenarioError:                 # already names the file and the key
            raise
        except PkpdError as exc:
            ctx.fail("model", str(exc))
        names = list(model.outputs) + list(model.states)
        available = names if available is None else available + [o for o in names if o not in available]
        for arm in arm_names:
            resolved = []
            for s in arms[arm]:
                if s.cmt is not None:
                    _check_state(ctx, model, s.cmt, _join(s.where, "cmt"))
                    resolved.append((s, s.cmt))
                else:
                    resolved.append((s, scenarios.DRUGS[s.drug]["make"]().routes[s.route or "iv"]["cmt"]))
            dose_arms[arm] = resolved
        out.append((source, arm_names))
    for k in overrides:
        if k not in used_params:
            ctx.fail(_join("model.parameters", k), "unknown parameter of the status-epilepticus model with these "
                                                   "drugs (qualified names such as \"SEIZURE.E0\", \"MDZ.CL\")")
    dose_arms = {a: dose_arms[a] for a in arms}
    drugs_all = sorted({d for used in arm_drugs.values() for d in used}, key=order.index)
    return out, dose_arms, available, "status epilepticus (" + ", ".join(drugs_all) + ")"


def _population_groups(ctx, mtab, mname, arms, overrides, iiv):
    """A library model or drug with log-normal IIV: one PopulationModel for every arm."""
    from .. import drugs as drug_library
    from ..estimation import ProportionalError
    from ..models import compose
    from ..population import PopulationModel

    key = mname.strip().lower().replace("-", "_").replace(" ", "_")
    weight = _weight(ctx, mtab.get("weight"), "model.weight")
    drug = None
    if key in drug_library.LIBRARY:
        drug = _resolve_drug(ctx, mname, "model.name", weight)
        depots = {s.route for specs in arms.values() for s in specs if s.route and s.route != "iv"}
        for specs in arms.values():
            for s in specs:
                if s.route and s.route not in drug.routes:
                    ctx.fail(_join(s.where, "route"), f"{drug.name} has no route {s.route!r}; known routes: "
                                                      f"{', '.join(drug.routes)}")
        if len(depots) > 1:
            ctx.fail("arms", f"{drug.name}: one trial model has one depot; arms use {sorted(depots)}")
        d = drug.with_route(depots.pop()) if depots else drug
        model = compose(*d.components())
        theta = dict(d.params)
        prefix = drug.prefix
    else:
        try:
            from ..models.registry import resolve_model
            model = resolve_model(mname)
        except PkpdError:
            known = list(_library_models()) + list(drug_library.LIBRARY)
            ctx.fail("model.name", f"unknown model {mname!r}; known: status_epilepticus, " + ", ".join(known))
        theta = {p.name: p.default for p in model.parameters}
        prefix = ""
    known = list(theta)
    theta.update(_qualify(ctx, overrides, known, prefix, "model.parameters",
                          parameters={p.name: p for p in model.parameters}))
    omega = {k: v * v for k, v in _qualify(ctx, iiv, known, prefix, "model.iiv").items() if v > 0}
    for k in omega:
        if theta[k] <= 0:
            ctx.fail(_join("model.iiv", k), f"log-normal IIV needs a positive typical value, got {theta[k]:g}")
    if not omega:
        ctx.fail("model.iiv", "missing: a trial of a library model or drug needs log-normal IIV (SD of log > 0) on "
                              "at least one parameter, e.g. [model.iiv] CL = 0.3")
    transforms = {k: "log" if v > 0 else "identity" for k, v in theta.items()}
    try:
        pm = PopulationModel(model, theta, omega, ProportionalError(), transforms=transforms)
    except PkpdError as exc:
        ctx.fail("model", str(exc))
    dose_arms = {}
    for arm, specs in arms.items():
        resolved = []
        for s in specs:
            if s.drug is not None:
                ctx.fail(_join(s.where, "drug"), "only for the status-epilepticus model")
            if drug is not None and s.cmt is None:
                resolved.append((s, drug.routes[s.route or "iv"]["cmt"]))
            else:
                resolved.append((s, _library_cmt(ctx, model, s)))
        dose_arms[arm] = resolved
    available = list(model.outputs) + list(model.states)
    return [(pm, list(arms))], dose_arms, available, model.name


# ------------------------------------------------------------------------------------------------
# several drugs: genotypes, CYP3A4 and P-gp interactions (pkpd simulate)
# ------------------------------------------------------------------------------------------------
def _drug_key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _drug_names(ctx, value, where) -> list:
    """The library keys of ``drugs = [...]``: a non-empty array of known, distinct drug names."""
    from .. import drugs

    if not isinstance(value, list) or not value:
        ctx.fail(where, f"expected a non-empty array of library drug names, {_got(value)}")
    keys = []
    for i, name in enumerate(value):
        key = _drug_key(_string(ctx, name, _join(where, i)))
        if key not in drugs.LIBRARY:
            ctx.fail(_join(where, i), f"unknown drug {name!r}; known drugs: {', '.join(drugs.LIBRARY)}")
        if key in keys:
            ctx.fail(_join(where, i), f"drug {name!r} is listed twice")
        keys.append(key)
    return keys


def _among(ctx, value, where, keys, what) -> str:
    """A drug named in ``[interactions]`` or ``[genotypes]``: one of the scenario's drugs (library key)."""
    name = _string(ctx, value, where)
    key = _drug_key(name)
    if key not in keys:
        ctx.fail(where, f"{what} {name!r} is not among the drugs of the scenario ({', '.join(keys)})")
    return key


def _interactions(ctx, table, keys, made) -> dict:
    """``[interactions]`` read and checked against the drugs (``made``: library key -> Drug)."""
    from ._scenario_schema import INTERACTION_KEYS

    if table is None:
        return {}
    _keys(ctx, table, "interactions", tuple(INTERACTION_KEYS))
    out = {}
    checks = {"cyp3a4_inducers": ("inducer", lambda d: "CYP3A4" in d.induction, "no CYP3A4 induction parameters"),
              "cyp3a4_inactivators": ("inactivator", lambda d: "CYP3A4" in d.inactivation,
                                      "no CYP3A4 mechanism-based inactivation parameters"),
              "pgp_inhibitors": ("P-gp inhibitor", lambda d: d.pgp_inhibition is not None,
                                 "no P-gp inhibition parameters")}
    for k, (what, ok, lacks) in checks.items():
        if k not in table:
            continue
        where = _join("interactions", k)
        value = table[k]
        if not isinstance(value, list):
            ctx.fail(where, f"expected an array of drug names, {_got(value)}")
        names = []
        for i, v in enumerate(value):
            key = _among(ctx, v, _join(where, i), keys, what)
            if not ok(made[key]):
                able = ", ".join(n for n in keys if ok(made[n])) or "none"
                ctx.fail(_join(where, i), f"{key} has {lacks} (able among the drugs: {able})")
            if key not in names:
                names.append(key)
        out[k] = tuple(names)
    if "cyp3a4_inhibitors" in table:
        where = "interactions.cyp3a4_inhibitors"
        value = table["cyp3a4_inhibitors"]
        if not isinstance(value, Mapping):
            ctx.fail(where, f"expected a table of drug = unbound Ki (mg/L), {_got(value)}")
        out["cyp3a4_inhibitors"] = {_among(ctx, k, _join(where, k), keys, "inhibitor"):
                                    _number(ctx, v, _join(where, k), positive=True, what="a Ki", unit="mg/L")
                                    for k, v in value.items()}
    if out.get("pgp_inhibitors"):
        if not any(made[k].brain is not None for k in keys):
            ctx.fail("interactions.pgp_inhibitors", "no drug of the scenario has a brain compartment behind "
                                                    "P-gp (add e.g. \"pgp_probe\" to drugs)")
    return out


def _genotypes(ctx, table, keys, made) -> dict:
    """``[genotypes.DRUG]`` gene = diplotype: the drugs with their genotype applied (``made`` is updated)."""
    from ..physiology.genetics import GENES, phenotype

    if table is None:
        return {}
    if not isinstance(table, Mapping):
        ctx.fail("genotypes", f"expected a table of drug tables ([genotypes.DRUG] GENE = \"*1/*2\"), {_got(table)}")
    out = {}
    for name, genes in table.items():
        where = _join("genotypes", name)
        key = _among(ctx, name, where, keys, "drug")
        if not isinstance(genes, Mapping) or not genes:
            ctx.fail(where, f"expected a table of gene = diplotype (CYP2C19 = \"*2/*2\"), {_got(genes)}")
        drug = made[key]
        used = sorted({k.rsplit(".ACT_", 1)[1] for k in drug.params if "_LIVER.ACT_" in k}
                      | ({"ABCB1"} if drug.brain is not None else set()))
        out[key] = {}
        for gene, diplotype in genes.items():
            gwhere = _join(where, gene)
            if gene not in GENES:
                ctx.fail(gwhere, f"unknown gene; known genes: {', '.join(GENES)}")
            if gene not in used:
                ctx.fail(gwhere, f"{key} has no genotype-dependent {gene} (its genes: {', '.join(used) or 'none'})")
            diplotype = _string(ctx, diplotype, gwhere)
            try:
                if gene == "ABCB1":
                    drug = drug.with_params({f"{drug.brain.prefix}.PGP_GENO": phenotype(gene, diplotype).activity})
                else:
                    drug = drug.with_genotype(gene, diplotype)
            except (PkpdError, KeyError, ValueError) as exc:
                ctx.fail(gwhere, " ".join(str(exc).split()).strip("'\""))
            out[key][gene] = diplotype
        made[key] = drug
    return out


def _drug_set(ctx, keys, weight, doc) -> tuple:
    """The scenario's drugs (library key -> Drug, P-gp inhibitors wired, genotypes applied), the interactions
    and the genotypes."""
    from .. import drugs

    made = {k: _resolve_drug(ctx, k, "drugs", weight) for k in keys}
    interactions = _interactions(ctx, doc.get("interactions"), keys, made)
    inhibitors = [made[k] for k in interactions.get("pgp_inhibitors", ())]
    for k in keys:
        if inhibitors and made[k].brain is not None:
            try:
                made[k] = drugs.LIBRARY[k](weight=weight, inhibitors=inhibitors)
            except (TypeError, PkpdError) as exc:      # pragma: no cover - a brain drug without inhibitors=
                ctx.fail("interactions.pgp_inhibitors", f"{k} cannot take P-gp inhibitors ({exc})")
    genotypes = _genotypes(ctx, doc.get("genotypes"), keys, made)
    return made, interactions, genotypes


def _multi_drug_regimen(ctx, made, interactions, specs):
    """The composed model of several drugs (with CYP3A4 turnover when the interactions need it), their
    parameters (each drug's depot route set by the regimen's doses) and the compartment of every dose."""
    from .. import drugs
    from ..models import compose

    keys = list(made)
    depots, chosen = {}, []
    for s in specs:
        if s.drug is None:
            if len(keys) > 1 and s.cmt is None:
                ctx.fail(_join(s.where, "drug"), f"missing: which drug is given (one of {', '.join(keys)})")
            key = keys[0] if s.drug is None else None
        else:
            key = _among(ctx, s.drug, _join(s.where, "drug"), keys, "drug")
        chosen.append(key)
        if s.cmt is not None:
            continue
        d = made[key]
        route = s.route or "iv"
        if route not in d.routes:
            ctx.fail(_join(s.where, "route"), f"{d.name} has no route {route!r}; known routes: {', '.join(d.routes)}")
        if route in drugs.DEPOT_ROUTES:
            if depots.get(key, route) != route:
                ctx.fail(_join(s.where, "route"), f"one regimen cannot give {d.name} by two depot routes "
                                                  f"({depots[key]!r} and {route!r}: they share {d.prefix}.DEPOT, "
                                                  "F1 and KA); use two regimens")
            depots[key] = route
    routed = {k: made[k].with_route(depots[k]) if k in depots else made[k] for k in keys}
    comps = [c for d in routed.values() for c in d.components()]
    inducers = [routed[k] for k in interactions.get("cyp3a4_inducers", ())]
    inactivators = [routed[k] for k in interactions.get("cyp3a4_inactivators", ())]
    inhibitors = {routed[k]: ki for k, ki in interactions.get("cyp3a4_inhibitors", {}).items()}
    try:
        if inducers or inactivators or inhibitors:
            comps.append(drugs.cyp3a4(inducers=inducers, inactivators=inactivators, inhibitors=inhibitors))
        model = compose(*comps)
    except PkpdError as exc:
        ctx.fail("interactions" if len(comps) > 1 else "drugs", str(exc))
    params = {}
    for d in routed.values():
        params.update(d.params)
    cmts = []
    for s, key in zip(specs, chosen):
        if s.cmt is not None:
            _check_state(ctx, model, s.cmt, _join(s.where, "cmt"))
            cmts.append(s.cmt)
        else:
            cmts.append(routed[key].routes[s.route or "iv"]["cmt"])
    return model, params, cmts
