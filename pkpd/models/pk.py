"""Compartmental PK models: 1/2/3 compartments (IV and first-order absorption), Michaelis-Menten
elimination, a prodrug -> drug model and a parent -> metabolite model.

Conventions: time h, amount mg, volume L, concentration mg/L. States hold amounts; the output ``CP``
is the central concentration. Linear models expose :meth:`~pkpd.models.Model.system_matrix`, which gives
them an exact closed form (sums of exponentials, with superposition over doses and steady state).
Oral, IM and intranasal doses are boluses into ``DEPOT`` (compartment 1); ``F1`` and ``ALAG1`` are their
bioavailability and lag time. In the IV models compartment 1 is ``CENTRAL``.
"""

from __future__ import annotations

import math

import numpy as np

from ._base import Model, Parameter
from .equations import Equations

__all__ = [
    "OneCompartment",
    "OneCompartmentOral",
    "TwoCompartment",
    "TwoCompartmentOral",
    "ThreeCompartment",
    "ThreeCompartmentOral",
    "OneCompartmentMM",
    "OneCompartmentOralMM",
    "Prodrug",
    "ParentMetabolite",
]

_INF = math.inf


def _positive(name, default, unit, description):
    return Parameter(name, default, unit, lower=0.0, upper=_INF, description=description)


# Parameters shared by the library. Defaults are round, plausible adult values (a 70 kg adult, a drug
# with a half-life of a few hours); drug-specific sets with sources live in pkpd.drugs.
CL = _positive("CL", 5.0, "L/h", "clearance from the central compartment")
V = _positive("V", 50.0, "L", "volume of distribution")
V1 = _positive("V1", 20.0, "L", "central volume")
Q = _positive("Q", 10.0, "L/h", "inter-compartmental clearance, central <-> first peripheral")
V2 = _positive("V2", 50.0, "L", "first peripheral volume")
Q3 = _positive("Q3", 2.0, "L/h", "inter-compartmental clearance, central <-> second peripheral")
V3 = _positive("V3", 100.0, "L", "second peripheral volume")
KA = _positive("KA", 1.0, "1/h", "first-order absorption rate constant")
F1 = Parameter("F1", 1.0, "1", lower=0.0, upper=1.0, description="bioavailability of doses into DEPOT")
ALAG1 = _positive("ALAG1", 0.0, "h", "absorption lag time of doses into DEPOT")
VMAX = _positive("VMAX", 17.29, "mg/h", "maximal elimination rate (Michaelis-Menten)")
KM = _positive("KM", 5.7, "mg/L", "concentration at half-maximal elimination rate (Michaelis-Menten)")


def _col(p, name, y):
    """Parameter ``name`` shaped to broadcast against ``y`` of shape (n, ..., n_states)."""
    value = p[name]
    value = value if hasattr(value, "reshape") else np.asarray(value)     # arrays as they are (traced ones too)
    return value.reshape((-1,) + (1,) * (y.ndim - 2))


def _equations(parameters, states, derivatives, quantities=()) -> Equations:
    """The class's equations in the model language's expressions (what the compiled engine generates code from)."""
    return Equations(tuple(p.name for p in parameters), states, tuple(quantities), tuple(derivatives))


class _Linear(Model):
    linear = True
    nonnegative = True
    output_states = ("CENTRAL",)
    clearance_parameters = ("CL",)

    def output(self, y, p):
        return {"CP": y[..., self.states.index("CENTRAL")] / _col(p, self._central_volume, y)}

    _central_volume = "V1"


class OneCompartment(_Linear):
    """One-compartment model with linear elimination; IV doses into ``CENTRAL``.

    ``dA/dt = -CL/V * A``;  ``CP = A / V``.

    Examples
    --------
    >>> from pkpd import Bolus
    >>> r = OneCompartment().simulate(Bolus(100), [0, 1], {"CL": 5, "V": 50})
    >>> [round(c, 4) for c in r.to_frame()["CP"]]   # 100/50 * exp(-0.1 t)
    [2.0, 1.8097]
    """

    states = ("CENTRAL",)
    parameters = (CL, V)
    outputs = ("CP",)
    _central_volume = "V"

    def system_matrix(self, p):
        a = np.zeros((len(p["CL"]), 1, 1))
        a[:, 0, 0] = -p["CL"] / p["V"]
        return a

    equations = _equations(parameters, states, ["-CL / V * CENTRAL"])

    def rhs(self, t, y, p, rate):
        return rate - (p["CL"] / p["V"])[:, None] * y


class OneCompartmentOral(_Linear):
    """One-compartment model with first-order absorption from ``DEPOT`` (Bateman function for one dose).

    ``dA_d/dt = -KA*A_d``;  ``dA_c/dt = KA*A_d - CL/V*A_c``;  ``CP = A_c / V``.

    Examples
    --------
    >>> from pkpd import Bolus
    >>> r = OneCompartmentOral().simulate(Bolus(100, cmt="DEPOT"), [2], {"CL": 5, "V": 50, "KA": 1})
    >>> round(float(r.to_frame()["CP"][0]), 5)   # 100/50 * 1/(1-0.1) * (exp(-0.2) - exp(-2))
    1.51866
    """

    absorption = ("DEPOT", "CENTRAL", "KA")
    states = ("DEPOT", "CENTRAL")
    parameters = (CL, V, KA, F1, ALAG1)
    outputs = ("CP",)
    _central_volume = "V"

    def system_matrix(self, p):
        n = len(p["CL"])
        a = np.zeros((n, 2, 2))
        a[:, 0, 0] = -p["KA"]
        a[:, 1, 0] = p["KA"]
        a[:, 1, 1] = -p["CL"] / p["V"]
        return a

    equations = _equations(parameters, states, ["-KA * DEPOT", "KA * DEPOT - CL / V * CENTRAL"])

    def rhs(self, t, y, p, rate):
        absorbed = p["KA"] * y[:, 0]
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - absorbed
        out[:, 1] = rate[:, 1] + absorbed - p["CL"] / p["V"] * y[:, 1]
        return out


class TwoCompartment(_Linear):
    """Two-compartment mammillary model; IV doses into ``CENTRAL``.

    ``dA1/dt = -(CL+Q)/V1*A1 + Q/V2*A2``;  ``dA2/dt = Q/V1*A1 - Q/V2*A2``;  ``CP = A1/V1``.
    """

    states = ("CENTRAL", "PERIPH")
    parameters = (CL, V1, Q, V2)
    outputs = ("CP",)

    def system_matrix(self, p):
        n = len(p["CL"])
        k10, k12, k21 = p["CL"] / p["V1"], p["Q"] / p["V1"], p["Q"] / p["V2"]
        a = np.zeros((n, 2, 2))
        a[:, 0, 0] = -(k10 + k12)
        a[:, 0, 1] = k21
        a[:, 1, 0] = k12
        a[:, 1, 1] = -k21
        return a

    equations = _equations(
        parameters,
        states,
        ["-CL * C1 - FLOW", "FLOW"],
        [("C1", "CENTRAL / V1"), ("FLOW", "Q * (C1 - PERIPH / V2)")],
    )

    def rhs(self, t, y, p, rate):
        c1 = y[:, 0] / p["V1"]
        c2 = y[:, 1] / p["V2"]
        flow = p["Q"] * (c1 - c2)
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - p["CL"] * c1 - flow
        out[:, 1] = rate[:, 1] + flow
        return out


class TwoCompartmentOral(_Linear):
    """Two-compartment model with first-order absorption from ``DEPOT``."""

    absorption = ("DEPOT", "CENTRAL", "KA")
    states = ("DEPOT", "CENTRAL", "PERIPH")
    parameters = (CL, V1, Q, V2, KA, F1, ALAG1)
    outputs = ("CP",)

    def system_matrix(self, p):
        n = len(p["CL"])
        k10, k12, k21 = p["CL"] / p["V1"], p["Q"] / p["V1"], p["Q"] / p["V2"]
        a = np.zeros((n, 3, 3))
        a[:, 0, 0] = -p["KA"]
        a[:, 1, 0] = p["KA"]
        a[:, 1, 1] = -(k10 + k12)
        a[:, 1, 2] = k21
        a[:, 2, 1] = k12
        a[:, 2, 2] = -k21
        return a

    equations = _equations(
        parameters,
        states,
        ["-KA * DEPOT", "KA * DEPOT - CL * C1 - FLOW", "FLOW"],
        [("C1", "CENTRAL / V1"), ("FLOW", "Q * (C1 - PERIPH / V2)")],
    )

    def rhs(self, t, y, p, rate):
        absorbed = p["KA"] * y[:, 0]
        c1 = y[:, 1] / p["V1"]
        flow = p["Q"] * (c1 - y[:, 2] / p["V2"])
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - absorbed
        out[:, 1] = rate[:, 1] + absorbed - p["CL"] * c1 - flow
        out[:, 2] = rate[:, 2] + flow
        return out


class ThreeCompartment(_Linear):
    """Three-compartment mammillary model; IV doses into ``CENTRAL``.

    Peripheral compartments ``PERIPH1`` (``Q``, ``V2``) and ``PERIPH2`` (``Q3``, ``V3``).
    """

    states = ("CENTRAL", "PERIPH1", "PERIPH2")
    parameters = (CL, V1, Q, V2, Q3, V3)
    outputs = ("CP",)

    def system_matrix(self, p):
        n = len(p["CL"])
        k10, k12, k21 = p["CL"] / p["V1"], p["Q"] / p["V1"], p["Q"] / p["V2"]
        k13, k31 = p["Q3"] / p["V1"], p["Q3"] / p["V3"]
        a = np.zeros((n, 3, 3))
        a[:, 0, 0] = -(k10 + k12 + k13)
        a[:, 0, 1] = k21
        a[:, 0, 2] = k31
        a[:, 1, 0] = k12
        a[:, 1, 1] = -k21
        a[:, 2, 0] = k13
        a[:, 2, 2] = -k31
        return a

    equations = _equations(
        parameters,
        states,
        ["-CL * C1 - F2 - F3", "F2", "F3"],
        [("C1", "CENTRAL / V1"), ("F2", "Q * (C1 - PERIPH1 / V2)"), ("F3", "Q3 * (C1 - PERIPH2 / V3)")],
    )

    def rhs(self, t, y, p, rate):
        c1 = y[:, 0] / p["V1"]
        f2 = p["Q"] * (c1 - y[:, 1] / p["V2"])
        f3 = p["Q3"] * (c1 - y[:, 2] / p["V3"])
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - p["CL"] * c1 - f2 - f3
        out[:, 1] = rate[:, 1] + f2
        out[:, 2] = rate[:, 2] + f3
        return out


class ThreeCompartmentOral(_Linear):
    """Three-compartment model with first-order absorption from ``DEPOT``."""

    absorption = ("DEPOT", "CENTRAL", "KA")
    states = ("DEPOT", "CENTRAL", "PERIPH1", "PERIPH2")
    parameters = (CL, V1, Q, V2, Q3, V3, KA, F1, ALAG1)
    outputs = ("CP",)

    def system_matrix(self, p):
        n = len(p["CL"])
        k10, k12, k21 = p["CL"] / p["V1"], p["Q"] / p["V1"], p["Q"] / p["V2"]
        k13, k31 = p["Q3"] / p["V1"], p["Q3"] / p["V3"]
        a = np.zeros((n, 4, 4))
        a[:, 0, 0] = -p["KA"]
        a[:, 1, 0] = p["KA"]
        a[:, 1, 1] = -(k10 + k12 + k13)
        a[:, 1, 2] = k21
        a[:, 1, 3] = k31
        a[:, 2, 1] = k12
        a[:, 2, 2] = -k21
        a[:, 3, 1] = k13
        a[:, 3, 3] = -k31
        return a

    equations = _equations(
        parameters,
        states,
        ["-KA * DEPOT", "KA * DEPOT - CL * C1 - F2 - F3", "F2", "F3"],
        [("C1", "CENTRAL / V1"), ("F2", "Q * (C1 - PERIPH1 / V2)"), ("F3", "Q3 * (C1 - PERIPH2 / V3)")],
    )

    def rhs(self, t, y, p, rate):
        absorbed = p["KA"] * y[:, 0]
        c1 = y[:, 1] / p["V1"]
        f2 = p["Q"] * (c1 - y[:, 2] / p["V2"])
        f3 = p["Q3"] * (c1 - y[:, 3] / p["V3"])
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - absorbed
        out[:, 1] = rate[:, 1] + absorbed - p["CL"] * c1 - f2 - f3
        out[:, 2] = rate[:, 2] + f2
        out[:, 3] = rate[:, 3] + f3
        return out


class OneCompartmentMM(Model):
    """One-compartment model with Michaelis-Menten elimination; IV doses into ``CENTRAL``.

    ``dA/dt = -VMAX * C / (KM + C)`` with ``C = A / V``. Defaults are phenytoin's (Grasela 1983,
    Clin Pharmacokinet 8:355, PubMed 6617043, 70 kg European adult: VMAX 415 mg/day = 17.29 mg/h,
    KM 5.7 mg/L [S]) with V = 0.7 L/kg x 70 kg [M].
    """

    nonnegative = True
    clearance_parameters = ("VMAX",)
    states = ("CENTRAL",)
    parameters = (VMAX, KM, _positive("V", 49.0, "L", "volume of distribution"))
    outputs = ("CP",)

    equations = _equations(parameters, states, ["-VMAX * C / (KM + C)"], [("C", "CENTRAL / V")])

    def rhs(self, t, y, p, rate):
        c = y[:, 0] / p["V"]
        return (rate[:, 0] - p["VMAX"] * c / (p["KM"] + c))[:, None]

    def output(self, y, p):
        return {"CP": y[..., 0] / _col(p, "V", y)}


class OneCompartmentOralMM(Model):
    """One-compartment model with first-order absorption and Michaelis-Menten elimination."""

    absorption = ("DEPOT", "CENTRAL", "KA")
    nonnegative = True
    clearance_parameters = ("VMAX",)
    states = ("DEPOT", "CENTRAL")
    parameters = (VMAX, KM, _positive("V", 49.0, "L", "volume of distribution"), KA, F1, ALAG1)
    outputs = ("CP",)

    equations = _equations(
        parameters,
        states,
        ["-KA * DEPOT", "KA * DEPOT - VMAX * C / (KM + C)"],
        [("C", "CENTRAL / V")],
    )

    def rhs(self, t, y, p, rate):
        absorbed = p["KA"] * y[:, 0]
        c = y[:, 1] / p["V"]
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - absorbed
        out[:, 1] = rate[:, 1] + absorbed - p["VMAX"] * c / (p["KM"] + c)
        return out

    def output(self, y, p):
        return {"CP": y[..., 1] / _col(p, "V", y)}


class Prodrug(Model):
    """Prodrug converted to an active drug eliminated by Michaelis-Menten kinetics (fosphenytoin -> phenytoin).

    States ``PRODRUG`` (amount of prodrug, in active-drug equivalents, e.g. mg phenytoin equivalents, PE)
    and ``CENTRAL`` (active drug)::

        dP/dt = -KCONV * P
        dA/dt =  KCONV * P - VMAX * C / (KM + C),   C = A / V

    Outputs ``CPRO = P / VPRO`` (prodrug, in PE per L) and ``CP = A / V``. Defaults: conversion half-life
    10 min (fosphenytoin label: 8-15 min, 1.5 mg fosphenytoin = 1 mg PE [S]), so KCONV = ln 2 / (10/60 h)
    = 4.159 1/h; phenytoin VMAX 17.29 mg/h and KM 5.7 mg/L (Grasela 1983); V 49 L (0.7 L/kg x 70 kg) [M];
    fosphenytoin VPRO 10 L [M] (small: the prodrug is highly protein bound).

    Examples
    --------
    >>> import math
    >>> m = Prodrug()
    >>> round(math.log(2) / m.defaults["KCONV"] * 60, 1)   # conversion half-life, min
    10.0
    """

    nonnegative = True
    clearance_parameters = ("VMAX",)
    states = ("PRODRUG", "CENTRAL")
    parameters = (
        _positive("KCONV", math.log(2) / (10 / 60), "1/h", "prodrug -> drug conversion rate constant"),
        _positive("VPRO", 10.0, "L", "prodrug volume of distribution"),
        _positive("V", 49.0, "L", "active drug volume of distribution"),
        VMAX,
        KM,
    )
    outputs = ("CPRO", "CP")

    equations = _equations(
        parameters,
        states,
        ["-KCONV * PRODRUG", "KCONV * PRODRUG - VMAX * C / (KM + C)"],
        [("C", "CENTRAL / V")],
    )

    def rhs(self, t, y, p, rate):
        converted = p["KCONV"] * y[:, 0]
        c = y[:, 1] / p["V"]
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - converted
        out[:, 1] = rate[:, 1] + converted - p["VMAX"] * c / (p["KM"] + c)
        return out

    def output(self, y, p):
        return {"CPRO": y[..., 0] / _col(p, "VPRO", y), "CP": y[..., 1] / _col(p, "V", y)}


class ParentMetabolite(_Linear):
    """Parent drug (first-order absorption or IV) forming a metabolite, both one-compartment and linear.

    States ``DEPOT``, ``CENTRAL`` (parent) and ``METABOLITE``::

        dA_d/dt = -KA*A_d
        dA_p/dt =  KA*A_d - CL/V*A_p
        dA_m/dt =  FM*CL/V*A_p - CLM/VM*A_m

    ``FM`` is the fraction of parent clearance that forms the metabolite, in metabolite mass per parent
    mass (include the molecular-weight ratio). Outputs ``CP = A_p/V`` and ``CM = A_m/VM``.
    """

    absorption = ("DEPOT", "CENTRAL", "KA")
    states = ("DEPOT", "CENTRAL", "METABOLITE")
    output_states = ("CENTRAL", "METABOLITE")
    parameters = (
        CL,
        V,
        Parameter("FM", 1.0, "1", lower=0.0, upper=_INF, description="fraction of parent CL forming the metabolite"),
        _positive("CLM", 10.0, "L/h", "metabolite clearance"),
        _positive("VM", 50.0, "L", "metabolite volume of distribution"),
        KA,
        F1,
        ALAG1,
    )
    outputs = ("CP", "CM")

    def system_matrix(self, p):
        n = len(p["CL"])
        k = p["CL"] / p["V"]
        a = np.zeros((n, 3, 3))
        a[:, 0, 0] = -p["KA"]
        a[:, 1, 0] = p["KA"]
        a[:, 1, 1] = -k
        a[:, 2, 1] = p["FM"] * k
        a[:, 2, 2] = -p["CLM"] / p["VM"]
        return a

    equations = _equations(
        parameters,
        states,
        ["-KA * DEPOT", "KA * DEPOT - ELIMINATED", "FM * ELIMINATED - CLM / VM * METABOLITE"],
        [("ELIMINATED", "CL / V * CENTRAL")],
    )

    def rhs(self, t, y, p, rate):
        absorbed = p["KA"] * y[:, 0]
        eliminated = p["CL"] / p["V"] * y[:, 1]
        out = np.empty_like(y)
        out[:, 0] = rate[:, 0] - absorbed
        out[:, 1] = rate[:, 1] + absorbed - eliminated
        out[:, 2] = rate[:, 2] + p["FM"] * eliminated - p["CLM"] / p["VM"] * y[:, 2]
        return out

    def output(self, y, p):
        return {"CP": y[..., 1] / _col(p, "V", y), "CM": y[..., 2] / _col(p, "VM", y)}
