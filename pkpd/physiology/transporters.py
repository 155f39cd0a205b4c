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
from ..models._base import Parameter
from ..models._compose import Component
from ..effects import hill_fraction
from .enzymes import _check_name
from ._names import SEIZURE_ACTIVITY

__all__ = ["PgpInhibition", "BrainPgp"]


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

    States ``BRAIN`` (amount, mg), ``SIGNAL`` and ``PGP`` (expression relative to baseline, 1 at start).
    Outputs ``CU`` (unbound brain concentration, mg/L), ``KPUU`` (instantaneous CLin / CLout,total) and
    ``PGP``; ``CU`` is also provided as ``<drug>.CBRAIN_U`` for PD components.
    """

    states = ("BRAIN", "SIGNAL", "PGP")
    outputs = ("CU", "KPUU", "PGP")
    stiff = True  # brain ECF equilibrates in minutes: composed models default to the implicit solver

    def __init__(self, drug: str, *, clin: float = 10.0, clout: float = 10.0, clpgp: float = 0.0, vbr: float = 0.28,
                 inhibitors: Mapping[str, PgpInhibition] | None = None, seizure_driven: bool = False,
                 smax: float = 3.0, ksig: float = 4.0, kx: float = math.log(2) / 24, kdeg_pgp: float = math.log(2) / 24):
        self.drug = _check_name("drug", drug)
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
        self.parameters = tuple(pars)
        self.seizure_driven = seizure_driven
        reads = {f"{drug}.CU": None}
        reads.update({f"{i}.CP": None for i in self.inhibitors})
        if seizure_driven:
            reads[SEIZURE_ACTIVITY] = None
        self.reads = reads
        self.quantity_reads = (f"{drug}.CU",) + tuple(f"{i}.CP" for i in self.inhibitors)
        self.provides = ("CU", "KPUU", "PGP", f"{drug}.CBRAIN_U", f"{drug}.OUTFLOW")

    def initial_state(self, p):
        return {"PGP": 1.0}

    def _efflux(self, y, p, q):
        inhibition = 0.0
        for i in self.inhibitors:
            inhibition = inhibition + p[f"IMAX_{i}"] * hill_fraction(q[f"{i}.CP"], p[f"IC50_{i}"], p[f"HILL_{i}"])
        inhibition = inhibition * (inhibition < 1) + 1.0 * (inhibition >= 1)
        return p["CLOUT"] + p["CLPGP"] * y["PGP"] * p["PGP_GENO"] * (1.0 - inhibition)

    def quantities(self, y, p, q):
        cu = y["BRAIN"] / p["VBR"]
        out_cl = self._efflux(y, p, q)
        net = p["CLIN"] * q[f"{self.drug}.CU"] - out_cl * cu
        return {"CU": cu, "KPUU": p["CLIN"] / out_cl, "PGP": y["PGP"], f"{self.drug}.CBRAIN_U": cu,
                f"{self.drug}.OUTFLOW": net}

    def derivatives(self, t, y, p, q, rate):
        seizure = q[SEIZURE_ACTIVITY] if self.seizure_driven else 0.0
        k = p["KDEG_PGP"]
        return {
            "BRAIN": q[f"{self.drug}.OUTFLOW"] + rate["BRAIN"],
            "SIGNAL": p["KSIG"] * seizure * (1.0 - y["SIGNAL"]) - p["KX"] * y["SIGNAL"] + rate["SIGNAL"],
            "PGP": k * (1.0 + p["SMAX"] * y["SIGNAL"]) - k * y["PGP"] + rate["PGP"],
        }
