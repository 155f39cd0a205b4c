"""Drug-metabolising enzymes: turnover with induction and inactivation, and the well-stirred liver.

:class:`EnzymeTurnover` follows the enzyme-turnover model of the Asaumi et al. (2018) rifampicin PBPK
model (mrgsolve version, metrumresearchgroup/pbpk-qsp-mrgsolve ``docs/models/rifampicin_midazolam.cpp``)
with mechanism-based inactivation in the Mayhew (2000) / Galetin (2006) form [M]::

    dE/dt = kdeg * (1 + sum_i Emax_i Cu_i^h / (EC50_i^h + Cu_i^h)) - (kdeg + sum_j kinact_j Cu_j / (KI_j + Cu_j)) * E

for a liver and a gut pool, each relative to its baseline (E(0) = 1). Reversible (competitive)
inhibition lowers the *activity* without changing the amount: ``activity = E / (1 + sum_k Cu_k / Ki_k)``.
Removing the inducer lets E return to 1 with half-life ln 2 / kdeg (de-induction).

:class:`WellStirredLiver` turns enzyme activities into a victim drug's clearance and oral availability:
intrinsic clearance scales through the fraction metabolised by each enzyme, hepatic clearance follows
the well-stirred model (standard form [M]), and gut-wall availability the Qgut-type relation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


from ..errors import ModelError
from ..models import Component, Parameter
from ..models.effects import hill_fraction

__all__ = ["Induction", "Inactivation", "EnzymeTurnover", "WellStirredLiver"]


def _check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ModelError(f"{what} must be a name like 'CYP3A4' or 'MDZ', not {name!r}")
    return name


@dataclass(frozen=True)
class Induction:
    """Induction of enzyme synthesis by a drug's unbound plasma concentration (Emax model).

    Parameters
    ----------
    emax : float
        Maximal fold-increase of synthesis above baseline (E_ss = 1 + emax at saturation).
    ec50 : float
        Unbound concentration (mg/L) giving half of ``emax``.
    hill : float
        Hill coefficient.
    """

    emax: float
    ec50: float
    hill: float = 1.0

    def __post_init__(self):
        if not (self.emax >= 0 and self.ec50 > 0 and self.hill > 0):
            raise ModelError(f"Induction needs emax >= 0, ec50 > 0 and hill > 0, got {self}")


@dataclass(frozen=True)
class Inactivation:
    """Mechanism-based (time-dependent) inactivation: extra degradation ``kinact * Cu / (KI + Cu)``.

    ``kinact_gut`` defaults to ``kinact`` (Quinney 2010 used 0.4 /h liver, 4 /h intestine).
    """

    kinact: float
    ki: float
    kinact_gut: float | None = None

    def __post_init__(self):
        if not (self.kinact >= 0 and self.ki > 0 and (self.kinact_gut is None or self.kinact_gut >= 0)):
            raise ModelError(f"Inactivation needs kinact >= 0 and ki > 0, got {self}")


class EnzymeTurnover(Component):
    """Liver and gut pools of one enzyme, induced, inactivated and inhibited by drugs in the model.

    Parameters
    ----------
    enzyme : str
        Name and prefix, e.g. ``"CYP3A4"``.
    kdeg_liver, kdeg_gut : float
        Degradation rate constants (1/h). Defaults for CYP3A4: 0.0158 /h (t1/2 43.9 h) and 0.0288 /h
        (t1/2 24.1 h), Asaumi 2018 mrgsolve model [S].
    inducers : mapping of str to Induction
        Drug prefix -> induction; each reads ``<drug>.CU`` (unbound plasma concentration, mg/L).
    inactivators : mapping of str to Inactivation
        Drug prefix -> mechanism-based inactivation.
    inhibitors : mapping of str to float
        Drug prefix -> competitive inhibition constant Ki (unbound, mg/L).
    gut_induction_scale : float
        Gut Emax relative to liver Emax (1: same; a rifampicin PBPK analysis, AAPS J 2019, gives about
        9.5 vs 5.5-fold maximal induction [S], because enterocytes see higher concentrations).

    The states ``LIVER`` and ``GUT`` are enzyme amounts relative to baseline; the component provides
    ``LIVER_ACT`` and ``GUT_ACT`` (activity relative to baseline, after reversible inhibition) and
    reports ``LIVER`` and ``GUT`` as outputs. Per-drug parameters are named ``EMAX_<drug>``,
    ``EC50_<drug>``, ``HILL_<drug>``, ``KINACT_<drug>``, ``KINACT_GUT_<drug>``, ``KI_<drug>`` (MBI) and
    ``KIC_<drug>`` (competitive).
    """

    states = ("LIVER", "GUT")
    provides = ("LIVER_ACT", "GUT_ACT", "LIVER", "GUT")
    outputs = ("LIVER", "GUT")

    def __init__(self, enzyme: str = "CYP3A4", *, kdeg_liver: float = 0.0158, kdeg_gut: float = 0.0288,
                 inducers: Mapping[str, Induction] | None = None,
                 inactivators: Mapping[str, Inactivation] | None = None,
                 inhibitors: Mapping[str, float] | None = None, gut_induction_scale: float = 1.0):
        self.prefix = _check_name("enzyme", enzyme)
        self.inducers = dict(inducers or {})
        self.inactivators = dict(inactivators or {})
        self.inhibitors = dict(inhibitors or {})
        for kdeg, label in ((kdeg_liver, "kdeg_liver"), (kdeg_gut, "kdeg_gut")):
            if not kdeg > 0:
                raise ModelError(f"{enzyme}: {label} must be > 0 (1/h), got {kdeg!r}")
        if not gut_induction_scale >= 0:
            raise ModelError(f"{enzyme}: gut_induction_scale must be >= 0, got {gut_induction_scale!r}")
        pars = [
            Parameter("KDEG_LIVER", kdeg_liver, "1/h", 1e-12, math.inf, f"{enzyme} degradation rate constant, liver"),
            Parameter("KDEG_GUT", kdeg_gut, "1/h", 1e-12, math.inf, f"{enzyme} degradation rate constant, gut wall"),
            Parameter("GUT_INDUCTION", gut_induction_scale, "1", 0.0, math.inf, "gut Emax relative to liver Emax"),
        ]
        for drug, ind in self.inducers.items():
            _check_name("inducer", drug)
            if not isinstance(ind, Induction):
                raise ModelError(f"{enzyme}: inducer {drug!r} needs an Induction(...), not {ind!r}")
            pars += [
                Parameter(f"EMAX_{drug}", ind.emax, "1", 0.0, math.inf, f"maximal induction of {enzyme} by {drug}"),
                Parameter(f"EC50_{drug}", ind.ec50, "mg/L", 1e-300, math.inf, f"unbound {drug} EC50 for induction"),
                Parameter(f"HILL_{drug}", ind.hill, "1", 1e-3, math.inf, f"Hill coefficient of {drug} induction"),
            ]
        for drug, mbi in self.inactivators.items():
            _check_name("inactivator", drug)
            if not isinstance(mbi, Inactivation):
                raise ModelError(f"{enzyme}: inactivator {drug!r} needs an Inactivation(...), not {mbi!r}")
            gut = mbi.kinact if mbi.kinact_gut is None else mbi.kinact_gut
            pars += [
                Parameter(f"KINACT_{drug}", mbi.kinact, "1/h", 0.0, math.inf, f"{drug} maximal inactivation rate, liver"),
                Parameter(f"KINACT_GUT_{drug}", gut, "1/h", 0.0, math.inf, f"{drug} maximal inactivation rate, gut"),
                Parameter(f"KI_{drug}", mbi.ki, "mg/L", 1e-300, math.inf, f"unbound {drug} conc. at half-maximal inactivation"),
            ]
        for drug, ki in self.inhibitors.items():
            _check_name("inhibitor", drug)
            if not ki > 0:
                raise ModelError(f"{enzyme}: competitive Ki of {drug} must be > 0 (mg/L), got {ki!r}")
            pars.append(Parameter(f"KIC_{drug}", float(ki), "mg/L", 1e-300, math.inf, f"unbound {drug} competitive Ki"))
        self.parameters = tuple(pars)
        drugs = set(self.inducers) | set(self.inactivators) | set(self.inhibitors)
        self.reads = {f"{d}.CU": None for d in sorted(drugs)}
        self.quantity_reads = tuple(f"{d}.CU" for d in sorted(self.inhibitors))

    def initial_state(self, p):
        return {"LIVER": 1.0, "GUT": 1.0}

    def _inhibition(self, p, q):
        total = 0.0
        for drug in self.inhibitors:
            total = total + q[f"{drug}.CU"] / p[f"KIC_{drug}"]
        return 1.0 / (1.0 + total)

    def quantities(self, y, p, q):
        factor = self._inhibition(p, q)
        return {"LIVER_ACT": y["LIVER"] * factor, "GUT_ACT": y["GUT"] * factor, "LIVER": y["LIVER"], "GUT": y["GUT"]}

    def derivatives(self, t, y, p, q, rate):
        stim, kin_l, kin_g = 0.0, 0.0, 0.0
        for drug in self.inducers:
            stim = stim + p[f"EMAX_{drug}"] * hill_fraction(q[f"{drug}.CU"], p[f"EC50_{drug}"], p[f"HILL_{drug}"])
        for drug in self.inactivators:
            occ = hill_fraction(q[f"{drug}.CU"], p[f"KI_{drug}"])
            kin_l = kin_l + p[f"KINACT_{drug}"] * occ
            kin_g = kin_g + p[f"KINACT_GUT_{drug}"] * occ
        kl, kg = p["KDEG_LIVER"], p["KDEG_GUT"]
        return {
            "LIVER": kl * (1.0 + stim) - (kl + kin_l) * y["LIVER"] + rate["LIVER"],
            "GUT": kg * (1.0 + p["GUT_INDUCTION"] * stim) - (kg + kin_g) * y["GUT"] + rate["GUT"],
        }


class WellStirredLiver(Component):
    """A victim drug's clearance and oral availability from enzyme activities (well-stirred liver).

    Parameters
    ----------
    drug : str
        Prefix of the victim's PK component; this component provides ``<drug>.CL_MULT`` and
        ``<drug>.FA_MULT`` (relative to baseline), so the PK component keeps its baseline ``CL`` and ``F1``.
    fm : mapping of str to float
        Fraction of hepatic intrinsic clearance by each enzyme (e.g. ``{"CYP3A4": 0.93}``); the rest is
        unaffected. Each enzyme's activity is read from ``<ENZYME>.LIVER_ACT`` when an
        :class:`EnzymeTurnover` of that name is composed, and multiplied by a static per-subject
        parameter ``ACT_<ENZYME>`` (genotype: :func:`pkpd.physiology.genetics.genotype_covariate`).
    fm_gut : mapping of str to float, optional
        Fraction of gut-wall intrinsic clearance by each enzyme (default: ``fm``).
    clh, clr : float
        Baseline hepatic (blood) clearance and other (renal) clearance, L/h; the PK component's ``CL``
        should equal ``clh + clr``.
    qh : float
        Hepatic blood flow, L/h (default 1.24 L/h/kg x 70 kg = 86.8 L/h, Asaumi model [S]).
    fub : float
        Unbound fraction in blood.
    fg : float
        Baseline gut-wall availability (fraction escaping gut-wall metabolism).

    Notes
    -----
    Intrinsic clearance ``CLint(t) = CLint0 * (1 - sum fm + sum fm_e * A_e(t))`` with ``CLint0`` from the
    baseline, ``CLint0 = QH * CLH / (FUB * (QH - CLH))``; ``CLh = QH FUB CLint / (QH + FUB CLint)``;
    ``Fh = 1 - CLh / QH``; gut wall ``Fg(t) = 1 / (1 + g0 * (1 - sum fm_g + sum fm_g,e A_gut,e(t)))`` with
    ``g0 = 1/FG - 1``. Provided: ``CL_MULT = (CLh(t) + CLR) / (CLH + CLR)`` and
    ``FA_MULT = 1 + FIRST_PASS (Fh(t) Fg(t) / (Fh0 FG) - 1)``: the parameter ``FIRST_PASS`` (default 1) is
    the share of depot doses absorbed through the gut wall and the liver -- 1 for oral doses, 0 for
    IM, intranasal or buccal doses, whose availability does not change with gut or liver enzymes
    (:meth:`pkpd.drugs.Drug.with_route` sets it).
    """

    def __init__(self, drug: str, fm: Mapping[str, float], *, clh: float, clr: float = 0.0, qh: float = 86.8,
                 fub: float = 1.0, fg: float = 1.0, fm_gut: Mapping[str, float] | None = None):
        _check_name("drug", drug)
        self.drug = drug
        self.prefix = f"{drug}_LIVER"
        self.fm = dict(fm)
        self.fm_gut = dict(self.fm if fm_gut is None else fm_gut)
        for label, table in (("fm", self.fm), ("fm_gut", self.fm_gut)):
            for enzyme, value in table.items():
                _check_name("enzyme", enzyme)
                if not 0.0 <= value <= 1.0:
                    raise ModelError(f"{drug}: {label} of {enzyme} must be within [0, 1], got {value!r}")
            if sum(table.values()) > 1.0 + 1e-12:
                raise ModelError(f"{drug}: {label} values sum to {sum(table.values())!r} > 1")
        if not (qh > 0 and 0 <= clh < qh and clr >= 0 and 0 < fub <= 1 and 0 < fg <= 1):
            raise ModelError(
                f"{drug}: need qh > 0, 0 <= clh < qh, clr >= 0, 0 < fub <= 1, 0 < fg <= 1 "
                f"(got qh={qh}, clh={clh}, clr={clr}, fub={fub}, fg={fg})"
            )
        enzymes = sorted(set(self.fm) | set(self.fm_gut))
        pars = [
            Parameter("CLH", clh, "L/h", 0.0, math.inf, f"baseline hepatic blood clearance of {drug}"),
            Parameter("CLR", clr, "L/h", 0.0, math.inf, f"clearance of {drug} by other routes"),
            Parameter("QH", qh, "L/h", 1e-9, math.inf, "hepatic blood flow"),
            Parameter("FUB", fub, "1", 1e-9, 1.0, f"unbound fraction of {drug} in blood"),
            Parameter("FG", fg, "1", 1e-9, 1.0, f"baseline gut-wall availability of {drug}"),
            Parameter("FIRST_PASS", 1.0, "1", 0.0, 1.0,
                      "share of depot doses absorbed through gut wall and liver (1 oral, 0 IM/intranasal)"),
        ]
        for enzyme in enzymes:
            pars += [
                Parameter(f"FM_{enzyme}", self.fm.get(enzyme, 0.0), "1", 0.0, 1.0, f"fraction of CLint by {enzyme}"),
                Parameter(f"FMG_{enzyme}", self.fm_gut.get(enzyme, 0.0), "1", 0.0, 1.0,
                          f"fraction of gut-wall CLint by {enzyme}"),
                Parameter(f"ACT_{enzyme}", 1.0, "1", 0.0, math.inf, f"{enzyme} activity multiplier (e.g. genotype)"),
            ]
        self.parameters = tuple(pars)
        self.enzymes = tuple(enzymes)
        self.reads = {f"{e}.{pool}": 1.0 for e in enzymes for pool in ("LIVER_ACT", "GUT_ACT")}
        self.quantity_reads = tuple(self.reads)
        self.provides = (f"{drug}.CL_MULT", f"{drug}.FA_MULT")
        self.outputs = (f"{drug}.CL_MULT", f"{drug}.FA_MULT")

    def quantities(self, y, p, q):
        qh, fub, clh, clr = p["QH"], p["FUB"], p["CLH"], p["CLR"]
        liver = 1.0
        gut = 1.0
        for e in self.enzymes:
            act = p[f"ACT_{e}"]
            liver = liver + p[f"FM_{e}"] * (act * q[f"{e}.LIVER_ACT"] - 1.0)
            gut = gut + p[f"FMG_{e}"] * (act * q[f"{e}.GUT_ACT"] - 1.0)
        clint0 = qh * clh / (fub * (qh - clh))
        clint = clint0 * liver
        clh_t = qh * fub * clint / (qh + fub * clint)
        g0 = 1.0 / p["FG"] - 1.0
        fg_t = 1.0 / (1.0 + g0 * gut)
        fh0 = 1.0 - clh / qh
        fh_t = 1.0 - clh_t / qh
        first_pass = fh_t * fg_t / (fh0 * p["FG"])
        return {f"{self.drug}.CL_MULT": (clh_t + clr) / (clh + clr),
                f"{self.drug}.FA_MULT": 1.0 + p["FIRST_PASS"] * (first_pass - 1.0)}
