"""P-glycoprotein at the blood-brain barrier: unbound brain exposure of a drug.

Plasma <-> brain extracellular fluid with passive clearances in and out and P-gp efflux scaled by its
expression and by inhibitors (Hammarlund-Udenaes [M]; see docs/references.md)::

    dA_br/dt = CLIN * Cu,p - (CLOUT + CLPGP * P(t) * G * (1 - I(t))) * Cu,br,      Cu,br = A_br / VBR
    Kp,uu    = CLIN / (CLOUT + CLPGP * P * G * (1 - I))                           (at steady state)
    I(t)     = IMAX * C^n / (IC50^n + C^n)                                          (inhibitor plasma conc.)

``G`` is the ABCB1-genotype expression multiplier (parameter ``PGP_GENO``), ``P(t)`` the expression
relative to baseline, raised after seizures through a slow signal ``X`` (glutamate -> NMDA -> COX-2 ->
transcription; Bauer 2008, Zibell 2009 [S]; magnitude and time course [M], see below)::

    dX/dt = KSIG * S(t) * (1 - X) - KX * X      S(t) = seizure activity (0..1), read from SEIZURE.ACTIVITY
    dP/dt = KDEG_PGP * (1 + SMAX * X) - KDEG_PGP * P

Defaults (calibrated [M] to "P-gp 1.5-2.5-fold at 24-48 h after status epilepticus, back toward baseline
in about a week", Seegers 2002 / Bankstahl 2008, Epilepsia / van Vliet, from memory): the signal saturates
(KSIG 4 /h: 86 % of its maximum after 30 min of seizure), decays with KX = ln 2 / 24 h, P-gp turns over
with the same half-life, and SMAX 3 -- a 30-60 min seizure then peaks at about 2-fold 35 h later
(``t_peak = 1 / KDEG_PGP`` when KX = KDEG_PGP) and is within about 10 % of baseline after 7 days.

The net flux into the brain is removed from the drug's central compartment (``<drug>.OUTFLOW``), so
mass is conserved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ModelError
from ..models import Component, Parameter
from ..models.effects import hill_fraction
from .enzymes import _check_name
from ._names import SEIZURE_ACTIVITY

__all__ = ["PgpInhibition", "BrainPgp", "BloodBrainBarrier"]


@dataclass(frozen=True)
class PgpInhibition:
    """Inhibition of P-gp efflux by a drug's total plasma concentration (mg/L): Imax, IC50, Hill."""

    imax: float
    ic50: float
    hill: float = 1.0

    def __post_init__(self):
        if not (0.0 <= self.imax <= 1.0 and self.ic50 > 0 and self.hill > 0):
            raise ModelError(f"PgpInhibition needs 0 <= imax <= 1, ic50 > 0, hill > 0, got {self}")


class BrainPgp(Component):
    """Unbound brain-ECF exposure of ``drug`` behind P-gp (prefix ``<drug>_BRAIN``).

    Parameters
    ----------
    drug : str
        Prefix of the drug's PK component (reads ``<drug>.CU``, provides ``<drug>.OUTFLOW``).
    clin, clout : float
        Passive clearances into and out of brain ECF (L/h); equal for passive diffusion.
    clpgp : float
        P-gp efflux clearance at baseline expression (L/h). Kp,uu = clin / (clout + clpgp).
    vbr : float
        Brain ECF volume (L); 0.2 L/kg brain x 1.4 kg = 0.28 L [M].
    inhibitors : mapping of str to PgpInhibition
        Drug prefix -> inhibition by that drug's plasma concentration ``<drug>.CP``.
    seizure_driven : bool
        Read ``SEIZURE.ACTIVITY`` (required) to drive P-gp up-regulation; otherwise no seizure input.
    barrier : str, optional
        Prefix of a :class:`BloodBrainBarrier` shared by several drugs (``"BBB"``): P-gp activity and the
        passive leak are then read from it (``BBB.PGP_ACTIVITY``, ``BBB.LEAK``) and this component keeps only
        its ``BRAIN`` state; ``PGP_GENO``, the up-regulation parameters, ``seizure_driven`` and
        ``inhibitors`` belong to the barrier then. With a barrier the efflux is
        ``CLOUT LEAK + CLPGP PGP_ACTIVITY`` and the influx ``CLIN LEAK``.

    States ``BRAIN`` (amount, mg), ``SIGNAL`` and ``PGP`` (expression relative to baseline, 1 at start).
    Outputs ``CU`` (unbound brain concentration, mg/L), ``KPUU`` (instantaneous CLin / CLout,total) and
    ``PGP``; ``CU`` is also provided as ``<drug>.CBRAIN_U`` for PD components.
    """

    states = ("BRAIN", "SIGNAL", "PGP")
    outputs = ("CU", "KPUU", "PGP")
    stiff = True  # brain ECF equilibrates in minutes: composed models default to the implicit solver

    def __init__(self, drug: str, *, clin: float = 10.0, clout: float = 10.0, clpgp: float = 0.0, vbr: float = 0.28,
                 inhibitors: Mapping[str, PgpInhibition] | None = None, seizure_driven: bool = False,
                 smax: float = 3.0, ksig: float = 4.0, kx: float = math.log(2) / 24, kdeg_pgp: float = math.log(2) / 24,
                 barrier: str | None = None):
        self.drug = _check_name("drug", drug)
        self.barrier = None if barrier is None else _check_name("barrier", barrier)
        if self.barrier and (inhibitors or seizure_driven):
            raise ModelError(f"BrainPgp({drug}): with barrier={barrier!r} the inhibitors and the seizure drive "
                             "belong to the BloodBrainBarrier component")
        self.prefix = f"{drug}_BRAIN"
        self.inhibitors = dict(inhibitors or {})
        for name, value in (("clin", clin), ("clout", clout), ("vbr", vbr), ("kx", kx), ("kdeg_pgp", kdeg_pgp)):
            if not value > 0:
                raise ModelError(f"BrainPgp({drug}): {name} must be > 0, got {value!r}")
        for name, value in (("clpgp", clpgp), ("smax", smax), ("ksig", ksig)):
            if not value >= 0:
                raise ModelError(f"BrainPgp({drug}): {name} must be >= 0, got {value!r}")
        pars = [
            Parameter("CLIN", clin, "L/h", 1e-12, math.inf, "passive clearance plasma -> brain ECF (unbound)"),
            Parameter("CLOUT", clout, "L/h", 1e-12, math.inf, "passive clearance brain ECF -> plasma"),
            Parameter("CLPGP", clpgp, "L/h", 0.0, math.inf, "P-gp efflux clearance at baseline expression"),
            Parameter("VBR", vbr, "L", 1e-9, math.inf, "brain ECF volume"),
            Parameter("PGP_GENO", 1.0, "1", 0.0, math.inf, "P-gp expression multiplier (ABCB1 genotype)"),
            Parameter("SMAX", smax, "1", 0.0, math.inf, "maximal seizure-driven P-gp up-regulation per unit signal"),
            Parameter("KSIG", ksig, "1/h", 0.0, math.inf, "build-up rate of the up-regulation signal during seizure"),
            Parameter("KX", kx, "1/h", 1e-12, math.inf, "decay rate constant of the up-regulation signal"),
            Parameter("KDEG_PGP", kdeg_pgp, "1/h", 1e-12, math.inf, "P-gp turnover rate constant"),
        ]
        for inhibitor, inh in self.inhibitors.items():
            _check_name("inhibitor", inhibitor)
            if not isinstance(inh, PgpInhibition):
                raise ModelError(f"BrainPgp({drug}): inhibitor {inhibitor!r} needs a PgpInhibition(...), not {inh!r}")
            pars += [
                Parameter(f"IMAX_{inhibitor}", inh.imax, "1", 0.0, 1.0, f"maximal inhibition of P-gp by {inhibitor}"),
                Parameter(f"IC50_{inhibitor}", inh.ic50, "mg/L", 1e-300, math.inf, f"{inhibitor} plasma IC50 for P-gp"),
                Parameter(f"HILL_{inhibitor}", inh.hill, "1", 1e-3, math.inf, f"Hill coefficient of {inhibitor}"),
            ]
        if self.barrier:
            pars = pars[:4]
            self.states = ("BRAIN",)
        self.parameters = tuple(pars)
        self.seizure_driven = seizure_driven
        reads = {f"{drug}.CU": None}
        if self.barrier:
            reads.update({f"{self.barrier}.PGP_ACTIVITY": None, f"{self.barrier}.LEAK": None})
        reads.update({f"{i}.CP": None for i in self.inhibitors})
        if seizure_driven:
            reads[SEIZURE_ACTIVITY] = None
        self.reads = reads
        self.quantity_reads = tuple(r for r in reads if r != SEIZURE_ACTIVITY)
        self.provides = ("CU", "KPUU", "PGP", f"{drug}.CBRAIN_U", f"{drug}.OUTFLOW")

    def initial_state(self, p):
        return {} if self.barrier else {"PGP": 1.0}

    def _clearances(self, y, p, q):
        """Influx and total efflux clearance (L/h) at this instant."""
        if self.barrier:
            leak = q[f"{self.barrier}.LEAK"]
            return p["CLIN"] * leak, p["CLOUT"] * leak + p["CLPGP"] * q[f"{self.barrier}.PGP_ACTIVITY"]
        return p["CLIN"], self._efflux(y, p, q)

    def _efflux(self, y, p, q):
        inhibition = 0.0
        for i in self.inhibitors:
            inhibition = inhibition + p[f"IMAX_{i}"] * hill_fraction(q[f"{i}.CP"], p[f"IC50_{i}"], p[f"HILL_{i}"])
        inhibition = inhibition * (inhibition < 1) + 1.0 * (inhibition >= 1)
        return p["CLOUT"] + p["CLPGP"] * y["PGP"] * p["PGP_GENO"] * (1.0 - inhibition)

    def quantities(self, y, p, q):
        cu = y["BRAIN"] / p["VBR"]
        in_cl, out_cl = self._clearances(y, p, q)
        net = in_cl * q[f"{self.drug}.CU"] - out_cl * cu
        pgp = q[f"{self.barrier}.PGP_ACTIVITY"] if self.barrier else y["PGP"]
        return {"CU": cu, "KPUU": in_cl / out_cl, "PGP": pgp, f"{self.drug}.CBRAIN_U": cu,
                f"{self.drug}.OUTFLOW": net}

    def derivatives(self, t, y, p, q, rate):
        if self.barrier:
            return {"BRAIN": q[f"{self.drug}.OUTFLOW"] + rate["BRAIN"]}
        seizure = q[SEIZURE_ACTIVITY] if self.seizure_driven else 0.0
        k = p["KDEG_PGP"]
        return {
            "BRAIN": q[f"{self.drug}.OUTFLOW"] + rate["BRAIN"],
            "SIGNAL": p["KSIG"] * seizure * (1.0 - y["SIGNAL"]) - p["KX"] * y["SIGNAL"] + rate["SIGNAL"],
            "PGP": k * (1.0 + p["SMAX"] * y["SIGNAL"]) - k * y["PGP"] + rate["PGP"],
        }


class BloodBrainBarrier(Component):
    """The blood-brain barrier's state shared by every drug of a model (prefix ``BBB``): P-gp expression and
    activity, an inflammation signal driven by the seizure, and the passive leak it opens.

    :class:`BrainPgp` components built with ``barrier="BBB"`` read ``BBB.PGP_ACTIVITY`` (expression x genotype x
    (1 - inhibition)) and ``BBB.LEAK`` (multiplier of their passive clearances)::

        dINFL/dt = KSIG S(t) (1 - INFL) - KX INFL              S(t) = SEIZURE.ACTIVITY (0 when absent)
        dPGP/dt  = KDEG_PGP (1 + SMAX INFL) - KDEG_PGP PGP      expression relative to baseline
        PGP_ACTIVITY = PGP GENO (1 - IMAX C^h / (IC50^h + C^h)),  C = INHIBITOR_C (e.g. tariquidar, mg/L)
        LEAK     = 1 + LEAK_MAX INFL

    ``INFL`` is the IL-1beta-like inflammatory signal (glutamate -> NMDA -> COX-2 -> transcription raises
    P-gp after seizures: Bauer 2008, Mol Pharmacol; Zibell 2009, Neuropharmacology; IL-1beta rises in the
    hours after status epilepticus, Vezzani & Granata 2005, Epilepsia). Its defaults are those of
    :class:`BrainPgp`'s signal (SMAX 3: a 30-60 min seizure raises P-gp about 2-fold 35 h later [M]).
    ``LEAK_MAX`` 0.5 [A]: full inflammation raises the passive (paracellular) permeability by half (small
    molecules leak within hours of SE [M]; the number is an assumption). Acute exposure of brain capillaries
    to IL-1beta or TNF-alpha *lowers* P-gp transport within minutes before expression rises (Hartz 2006,
    Mol Pharmacol, rat capillaries); that early dip is not modelled -- the seizure-driven rise over a day is.
    ``INHIBITOR_C`` is a constant plasma concentration of a P-gp inhibitor: tariquidar with ``IC50`` 0.68 mg/L
    (1052 nM, MW 646.7, mouse) and ``IMAX`` 1 [M]; human plateau concentrations after 2-8 mg/kg exceed
    1 mg/L (Bauer 2012, Clin Pharmacol Ther).

    Parameters
    ----------
    **defaults : float
        Parameter defaults by local name (``GENO=1.3`` for the ABCB1 3435 CC genotype, ``INHIBITOR_C=1.0``).

    Examples
    --------
    Tariquidar at its IC50 halves P-gp activity; a doubled expression (``GENO=2``) restores it:

    >>> import pkpd
    >>> m = pkpd.compose(BloodBrainBarrier())
    >>> r = m.simulate(pkpd.Bolus(0.0, cmt="BBB.PGP"), [1.0], {"BBB.INHIBITOR_C": 0.68, "BBB.GENO": 2.0})
    >>> round(float(r["BBB.PGP_ACTIVITY"][0]), 6), float(r["BBB.LEAK"][0])
    (1.0, 1.0)
    """

    prefix = "BBB"
    states = ("INFL", "PGP")
    provides = ("PGP_ACTIVITY", "LEAK", "INFLAMMATION", "EXPRESSION")
    outputs = ("PGP_ACTIVITY", "LEAK", "INFLAMMATION", "EXPRESSION")
    PGP_ACTIVITY, LEAK = "BBB.PGP_ACTIVITY", "BBB.LEAK"
    _PARAMETERS = (
        Parameter("GENO", 1.0, "1", 0.0, math.inf, "[M] P-gp expression multiplier of the ABCB1 genotype"),
        Parameter("SMAX", 3.0, "1", 0.0, math.inf, "[M] P-gp up-regulation per unit inflammatory signal"),
        Parameter("KSIG", 4.0, "1/h", 0.0, math.inf, "[M] build-up of the inflammatory signal during seizure"),
        Parameter("KX", math.log(2) / 24, "1/h", 1e-12, math.inf, "[M] decay of the inflammatory signal"),
        Parameter("KDEG_PGP", math.log(2) / 24, "1/h", 1e-12, math.inf, "[M] P-gp turnover rate constant"),
        Parameter("LEAK_MAX", 0.5, "1", 0.0, math.inf, "[A] rise of passive permeability at full inflammation"),
        Parameter("INHIBITOR_C", 0.0, "mg/L", 0.0, math.inf, "[A] plasma concentration of a P-gp inhibitor"),
        Parameter("IC50", 0.68, "mg/L", 1e-12, math.inf, "[M] inhibitor IC50 (tariquidar 1052 nM, mouse)"),
        Parameter("IMAX", 1.0, "1", 0.0, 1.0, "[M] maximal inhibition of P-gp"),
        Parameter("HILL", 1.0, "1", 1e-3, math.inf, "[M] Hill coefficient of the inhibition"),
    )

    def __init__(self, **defaults: float):
        from .chloride import _with_defaults
        self.parameters = _with_defaults(type(self).__name__, self._PARAMETERS, defaults)
        self.reads = {SEIZURE_ACTIVITY: 0.0}
        self.quantity_reads = ()

    def initial_state(self, p):
        return {"PGP": 1.0}

    def quantities(self, y, p, q):
        inhibition = p["IMAX"] * hill_fraction(p["INHIBITOR_C"], p["IC50"], p["HILL"])
        infl = y["INFL"]
        return {"PGP_ACTIVITY": y["PGP"] * p["GENO"] * (1.0 - inhibition), "LEAK": 1.0 + p["LEAK_MAX"] * infl,
                "INFLAMMATION": infl, "EXPRESSION": y["PGP"] * p["GENO"]}

    def derivatives(self, t, y, p, q, rate):
        k = p["KDEG_PGP"]
        s = q[SEIZURE_ACTIVITY]
        return {"INFL": p["KSIG"] * s * (1.0 - y["INFL"]) - p["KX"] * y["INFL"] + rate["INFL"],
                "PGP": k * (1.0 + p["SMAX"] * y["INFL"]) - k * y["PGP"] + rate["PGP"]}
