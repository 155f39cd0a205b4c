"""Drug parameter sets with sources (tags: [S] read in the source named, [M] literature knowledge not
checked against the primary paper, [C] computed here or calibrated, with the target named; the full
references are in docs/references.md).

Conventions: 70 kg adult unless ``weight`` is given; per-kg values scale linearly with weight unless a
source gives an allometric exponent. Time h, amount mg, volume L, concentration mg/L.
"""

from __future__ import annotations

import math

from ..errors import ModelError
from ..models.pk import (
    OneCompartmentOral,
    OneCompartmentOralMM,
    Prodrug,
    ThreeCompartment,
    TwoCompartment,
    TwoCompartmentOral,
)
from ..physiology import BrainPgp, Inactivation, Induction, PgpInhibition, WellStirredLiver
from ._core import Drug, Metabolite

__all__ = [
    "midazolam", "lorazepam", "diazepam", "clobazam", "phenytoin", "fosphenytoin", "levetiracetam",
    "valproate", "phenobarbital", "ketamine", "propofol", "carbamazepine", "rifampicin", "clarithromycin",
    "tariquidar", "pgp_probe", "LIBRARY",
]

LN2 = math.log(2)
#: Hepatic blood flow 1.24 L/h/kg, Asaumi 2018 rifampicin-midazolam PBPK (mrgsolve file) [S].
QH_PER_KG = 1.24


def v2_for_half_life(cl: float, v1: float, q: float, t_half: float) -> float:
    """Peripheral volume of a two-compartment model whose terminal half-life is ``t_half`` [C].

    From the characteristic equation of the system matrix with ``lambda = ln 2 / t_half``::

        V2 = Q (CL/V1 - lambda) / (lambda (CL + Q)/V1 - lambda**2)

    >>> round(v2_for_half_life(18.48, 21.0, 40.0, 2.9), 2)
    42.14
    """
    lam = LN2 / t_half
    den = lam * (cl + q) / v1 - lam**2
    num = q * (cl / v1 - lam)
    if not (den > 0 and num > 0):
        raise ModelError(f"no two-compartment model with CL={cl}, V1={v1}, Q={q} has t1/2={t_half} h")
    return num / den


def _qualified(prefix: str, values: dict) -> dict:
    return {f"{prefix}.{k}": float(v) for k, v in values.items()}


def _component_params(component) -> dict:
    return {f"{component.prefix}.{p.name}": float(p.default) for p in component.parameters}


def _build(name, prefix, model, pk: dict, *, routes, route=None, liver=None, metabolite=None,
           metabolite_liver=None, brain=None, **kw) -> Drug:
    params = _qualified(prefix, pk)
    for comp in (liver, metabolite, metabolite_liver, brain):
        if comp is not None:
            params.update(_component_params(comp))
    drug = Drug(name=name, prefix=prefix, model=model, params=params, liver=liver, routes=routes, route=None,
                metabolite=metabolite, metabolite_liver=metabolite_liver, brain=brain, **kw)
    return drug if route is None else drug.with_route(route)


# ------------------------------------------------------------------------------------------------
# benzodiazepines
# ------------------------------------------------------------------------------------------------
def midazolam(weight: float = 70.0) -> Drug:
    """Midazolam (prefix ``MDZ``), two-compartment with first-order absorption, CYP3A4 liver and gut
    wall, and 1'-hydroxymidazolam (``OHMDZ``).

    Parameters (70 kg):

    - CL 4.4 mL/min/kg = 18.48 L/h; terminal t1/2 2.9 h (healthy men, 0.1 mg/kg IV) [S] PMC1874433.
    - V1 0.3 L/kg = 21 L [M]; Q 40 L/h [M] (fast distribution, Bell 1991 t1/2alpha 0.06 h [S]);
      V2 = 42.1 L [C] so that the terminal t1/2 is 2.9 h (Vss 63 L = 0.90 L/kg, between Heizmann's
      Vss 50.2 L [S] and the 1.1 L/kg Vbeta of PMC1874433 [S]).
    - FU 0.06 (94 % bound) [S] Allonen 1981; blood/plasma ratio 0.66 [M].
    - Liver: fm CYP3A4 0.93 (liver), 1.00 (gut) [S] Asaumi mrgsolve file; Fg 0.56 [S] (Gertz 2008, DMD
      table); QH 1.24 L/h/kg [S]; hepatic blood clearance CLH = CL / 0.66 = 28.0 L/h [C], so
      Fh = 0.677 and the oral F1 = Fg Fh = 0.379 [C] (observed 0.36 [S] Smith 1981, 0.44 [S] Allonen 1981).
    - Routes: IM F 0.87 [S] Bell 1991, tmax 0.5 h [S] Reichard 2010 -> KA 4 /h [C];
      intranasal F 0.75 (0.74-0.76) [S] PMC5346864, tmax 11-14 min -> KA 10 /h [C];
      buccal F 0.75 (75-87 %) [S] PMC8073514, KA 3 /h [M]; oral KA 3 /h [M] (tmax ~0.5-1 h).
    - 1'-OH-midazolam: CL 25 L/h (20-30) [M] Mandema 1992; V 20 L [M] (fast, formation-limited
      metabolite); formation clearance CLF = 4.93 L/h [C], calibrated so that Cmax after 2.5 mg IV
      midazolam is 6.1 ng/mL [S] (PMC5346864) -- 25 % of midazolam CL (x MW ratio 1.049). This one-
      compartment metabolite peaks at 40 min (observed 14.4 min [S]) and declines with the parent's
      2.9 h (observed 4.6 h [S]): the two observations need a two-compartment metabolite.
    - Doses: SE IM 10 mg (> 40 kg, RAMPART) [S]; SE IV 10 mg (ESETT adequate dose) [S]; IV 0.2 mg/kg and
      IM 0.3 mg/kg (< 32 kg, ESETT) [S]; intranasal 5 mg (Nazolam) [S].
    """
    w = weight / 70.0
    cl, v1, q = 4.4 * 60 / 1000 * weight, 0.3 * weight, 40.0 * w
    v2 = v2_for_half_life(cl, v1, q, 2.9)
    bp, fu = 0.66, 0.06
    routes = {
        "iv": {"cmt": "MDZ.CENTRAL"},
        "oral": {"cmt": "MDZ.DEPOT", "F": 0.56 * (1 - cl / bp / (QH_PER_KG * weight)), "KA": 3.0},
        "im": {"cmt": "MDZ.DEPOT", "F": 0.87, "KA": 4.0},
        "intranasal": {"cmt": "MDZ.DEPOT", "F": 0.75, "KA": 10.0},
        "buccal": {"cmt": "MDZ.DEPOT", "F": 0.75, "KA": 3.0},
    }
    liver = WellStirredLiver("MDZ", {"CYP3A4": 0.93}, fm_gut={"CYP3A4": 1.0}, clh=cl / bp, qh=QH_PER_KG * weight,
                             fub=fu / bp, fg=0.56)
    met = Metabolite("OHMDZ", "MDZ", clf=4.93 * w, cl=25.0 * w, v=20.0 * w, fu=1.0)
    return _build(
        "midazolam", "MDZ", TwoCompartmentOral(drug="MDZ"),
        {"CL": cl, "V1": v1, "Q": q, "V2": v2, "FU": fu}, routes=routes, route="oral", liver=liver,
        metabolite=met, fm={"CYP3A4": 0.93}, fm_gut={"CYP3A4": 1.0},
        doses={"SE IM": 10.0, "SE IV": 10.0, "SE IV child (mg/kg)": 0.2, "SE IM child (mg/kg)": 0.3,
               "intranasal": 5.0},
        sources=midazolam.__doc__, mw=325.77,
    )


def lorazepam(weight: float = 70.0) -> Drug:
    """Lorazepam (prefix ``LZP``), two-compartment, glucuronidated (no CYP; no liver component).

    - CL 1.075 mL/min/kg (1.05-1.10) = 4.52 L/h; t1/2 14.45 h (14.3-14.6) [S] Greenblatt 1979.
    - V1 0.59 L/kg = 41.3 L [S] (PMID 6133404, Vc); Q 30 L/h [M]; V2 = 48.8 L [C] for t1/2 14.45 h
      (Vss 1.29 L/kg, within the 1.14-1.30 L/kg of Greenblatt 1979 [S]).
    - FU 0.09 (~91 % bound) [M].
    - IM: F 0.888 [S] PMID 6133404 (83-100 % [S] Greenblatt 1979); absorption t1/2 15.5 min (12-19) [S] ->
      KA 2.68 /h [C]. Oral: F 0.9, KA 1.5 /h [M].
    - Doses: SE IV 4 mg (> 32 kg, ESETT / RAMPART) [S]; 0.1 mg/kg (VA cooperative, ESETT < 32 kg) [S].
    """
    w = weight / 70.0
    cl, v1, q = 1.075 * 60 / 1000 * weight, 0.59 * weight, 30.0 * w
    v2 = v2_for_half_life(cl, v1, q, 14.45)
    routes = {
        "iv": {"cmt": "LZP.CENTRAL"},
        "im": {"cmt": "LZP.DEPOT", "F": 0.888, "KA": LN2 / (15.5 / 60)},
        "oral": {"cmt": "LZP.DEPOT", "F": 0.9, "KA": 1.5},
    }
    return _build("lorazepam", "LZP", TwoCompartmentOral(drug="LZP"),
                  {"CL": cl, "V1": v1, "Q": q, "V2": v2, "FU": 0.09}, routes=routes, route="im",
                  doses={"SE IV": 4.0, "SE IV (mg/kg)": 0.1}, sources=lorazepam.__doc__, mw=321.16)


def diazepam(weight: float = 70.0) -> Drug:
    """Diazepam (prefix ``DZP``), two-compartment, CYP2C19 + CYP3A4, with desmethyldiazepam (``NDZ``).

    - CL 26.6 mL/min = 1.596 L/h, t1/2 44.2 h (oral 10 mg, n = 48; F ~ 1 [M]) [S] Greenblatt 1989.
    - V1 0.3 L/kg [M]; Q 10 L/h [M]; V2 [C] for t1/2 44.2 h (Vss 1.33 L/kg, slightly above the
      0.8-1.2 L/kg of PMC8073514 [S]: CL and t1/2 of Greenblatt 1989 imply Vbeta = 102 L).
    - FU 0.015 (98-99 % bound) [M]; blood/plasma 0.58 [M].
    - fm CYP2C19 0.5, CYP3A4 0.45 [M]: CYP2C19 PMs have 40-60 % lower CL [M] (Bertilsson 1989) and
      N-demethylation is by CYP3A4 + CYP2C19 [S] NBK379740.
    - Routes: IN F 0.97, rectal F 0.90 [S] PMC8073514; oral F 1.0, KA 1.5 /h [M]; IN KA 3 /h [M];
      rectal KA 3 /h [M].
    - Desmethyldiazepam: t1/2 70 h (40-100 h) [M] Klotz 1976; V 1 L/kg [M] -> CL 0.69 L/h [C];
      formation fraction 0.6 [M] x MW ratio 0.951.
    - Doses: SE IV 10 mg (> 32 kg, ESETT) [S]; 0.15 mg/kg (VA cooperative, with phenytoin) [S];
      0.3 mg/kg IV/PR (< 32 kg, ESETT) [S].
    """
    w = weight / 70.0
    cl, v1, q = 1.596 * w, 0.3 * weight, 10.0 * w
    v2 = v2_for_half_life(cl, v1, q, 44.2)
    bp, fu = 0.58, 0.015
    fm = {"CYP2C19": 0.5, "CYP3A4": 0.45}
    routes = {
        "iv": {"cmt": "DZP.CENTRAL"},
        "oral": {"cmt": "DZP.DEPOT", "F": 1.0, "KA": 1.5},
        "intranasal": {"cmt": "DZP.DEPOT", "F": 0.97, "KA": 3.0},
        "rectal": {"cmt": "DZP.DEPOT", "F": 0.90, "KA": 3.0},
    }
    liver = WellStirredLiver("DZP", fm, clh=cl / bp, qh=QH_PER_KG * weight, fub=fu / bp, fg=1.0)
    v_m = 1.0 * weight
    met = Metabolite("NDZ", "DZP", clf=0.6 * cl * 270.7 / 284.7, cl=LN2 / 70.0 * v_m, v=v_m, fu=0.03)
    return _build("diazepam", "DZP", TwoCompartmentOral(drug="DZP"),
                  {"CL": cl, "V1": v1, "Q": q, "V2": v2, "FU": fu}, routes=routes, route="oral", liver=liver,
                  metabolite=met, fm=fm, fm_gut=fm,
                  doses={"SE IV": 10.0, "SE IV (mg/kg)": 0.15, "SE IV/PR child (mg/kg)": 0.3},
                  sources=diazepam.__doc__, mw=284.74)


def clobazam(weight: float = 70.0) -> Drug:
    """Clobazam (prefix ``CLB``), one-compartment oral, with N-desmethylclobazam (``NCLB``) cleared by
    CYP2C19.

    - CL/F ~ 2 L/h, t1/2 39 h (36-42) [M] ONFI label -> V 112.5 L [C]; F 1.0 (87-100 %) [S] PMC8073514;
      KA 1.0 /h [M] (tmax 0.5-4 h).
    - Parent fm CYP3A4 0.9 [M]; clobazam exposure unchanged by CYP2C19 genotype [S] (FDA label), so no
      CYP2C19 fm on the parent.
    - N-CLB: t1/2 76.5 h (71-82) [M] label; V 100 L [M]; CL = 0.906 L/h [C]; formed from 80 % of
      clobazam clearance [M] x MW ratio 0.953 (286.7/300.7).
    - N-CLB CYP2C19 fm 0.75 [C]: with pkpd.physiology.genetics activities (PM 0, IM 0.35) it gives N-CLB AUC
      x 4.0 (PM) and x 1.95 (IM), the FDA label's 3-5-fold and ~2-fold [S] (NCBI MedGen CN456489).
    - Doses: maintenance 10 mg twice daily [M]; PM start 5 mg/day [S] (label).
    """
    w = weight / 70.0
    cl = 2.0 * w
    v = cl * 39.0 / LN2
    routes = {"oral": {"cmt": "CLB.DEPOT", "F": 1.0, "KA": 1.0}}
    liver = WellStirredLiver("CLB", {"CYP3A4": 0.9}, clh=cl, qh=QH_PER_KG * weight, fub=0.15, fg=1.0)
    v_m = 100.0 * w
    cl_m = LN2 / 76.5 * v_m
    met = Metabolite("NCLB", "CLB", clf=0.8 * cl * 286.7 / 300.7, cl=cl_m, v=v_m, fu=0.3)
    met_liver = WellStirredLiver("NCLB", {"CYP2C19": 0.75}, clh=cl_m, qh=QH_PER_KG * weight, fub=0.3, fg=1.0)
    return _build("clobazam", "CLB", OneCompartmentOral(drug="CLB"), {"V": v, "CL": cl, "FU": 0.15},
                  routes=routes, route="oral", liver=liver, metabolite=met, metabolite_liver=met_liver,
                  fm={"CYP3A4": 0.9}, fm_gut={"CYP3A4": 0.9},
                  doses={"maintenance": 10.0, "PM start (per day)": 5.0}, sources=clobazam.__doc__, mw=300.74)


# ------------------------------------------------------------------------------------------------
# second-line drugs
# ------------------------------------------------------------------------------------------------
def _phenytoin_liver(prefix: str, weight: float, vmax: float, km: float, fu: float) -> WellStirredLiver:
    # low-extraction drug: the well-stirred baseline is the linearised clearance at 15 mg/L [C]
    cl15 = vmax / (km + 15.0)
    return WellStirredLiver(prefix, {"CYP2C9": 0.85, "CYP2C19": 0.15}, clh=cl15, qh=QH_PER_KG * weight, fub=fu,
                            fg=1.0)


def phenytoin(weight: float = 70.0) -> Drug:
    """Phenytoin (prefix ``PHT``), one-compartment, Michaelis-Menten elimination, CYP2C9/CYP2C19.

    - VMAX 415 mg/day (17.29 mg/h) x (WT/70)^0.6, KM 5.7 mg/L (70 kg European adult) [S] Grasela 1983.
    - V 78.6 L x WT/70, FU 0.112 [S] Ther Drug Monit 2016 popPK (PMC5113813).
    - fm CYP2C9 0.85, CYP2C19 0.15 [M] (0.8-0.9 / 0.1-0.2). Genotype scales VMAX through the liver's
      ``ACT_CYP2C9`` (``CL_MULT`` multiplies VMAX); the well-stirred baseline is the clearance
      linearised at 15 mg/L (extraction < 1 %, so ``CL_MULT`` equals the fm-weighted activity) [C].
    - Oral F 1.0 [M] (phenytoin sodium salt factor 0.92 [S] is not applied: doses are mg phenytoin);
      KA 0.5 /h [M].
    - Doses: SE loading 18 mg/kg (VA cooperative) [S]; maintenance 300 mg/day [M].
    """
    vmax, km, fu = 415.0 / 24 * (weight / 70.0) ** 0.6, 5.7, 0.112
    routes = {"iv": {"cmt": "PHT.CENTRAL"}, "oral": {"cmt": "PHT.DEPOT", "F": 1.0, "KA": 0.5}}
    return _build("phenytoin", "PHT", OneCompartmentOralMM(drug="PHT"),
                  {"VMAX": vmax, "KM": km, "V": 78.6 * weight / 70.0, "FU": fu}, routes=routes, route="oral",
                  liver=_phenytoin_liver("PHT", weight, vmax, km, fu), fm={"CYP2C9": 0.85, "CYP2C19": 0.15},
                  doses={"SE loading (mg/kg)": 18.0, "maintenance (per day)": 300.0},
                  sources=phenytoin.__doc__, mw=252.27)


def fosphenytoin(weight: float = 70.0) -> Drug:
    """Fosphenytoin (prefix ``FOS``): :class:`~pkpd.models.Prodrug` converted to phenytoin (``FOS.CP``).

    Doses are in mg phenytoin equivalents (PE; 1.5 mg fosphenytoin = 1 mg PE) [S] label, into
    ``FOS.PRODRUG``. Conversion t1/2 10 min (8-15 min) [S] -> KCONV 4.16 /h; VPRO 10 L [M].
    Phenytoin part as :func:`phenytoin` (VMAX, KM [S] Grasela 1983; V, FU [S] PMC5113813; fm [M]).
    Doses: ESETT 20 mg PE/kg, max 1500 mg PE, over 10 min [S]; max rate 150 mg PE/min [S].
    """
    vmax, km, fu = 415.0 / 24 * (weight / 70.0) ** 0.6, 5.7, 0.112
    routes = {"iv": {"cmt": "FOS.PRODRUG"}}
    return _build("fosphenytoin", "FOS", Prodrug(drug="FOS"),
                  {"KCONV": LN2 / (10 / 60), "VPRO": 10.0, "V": 78.6 * weight / 70.0, "VMAX": vmax, "KM": km,
                   "FU": fu}, routes=routes, liver=_phenytoin_liver("FOS", weight, vmax, km, fu),
                  fm={"CYP2C9": 0.85, "CYP2C19": 0.15},
                  doses={"SE loading (mg PE/kg)": 20.0, "SE loading max (mg PE)": 1500.0},
                  sources=fosphenytoin.__doc__, mw=362.25)


def levetiracetam(weight: float = 70.0) -> Drug:
    """Levetiracetam (prefix ``LEV``), one-compartment, renal + non-CYP hydrolysis (no liver component).

    - CL 0.96 mL/min/kg = 4.03 L/h; V 0.6 L/kg (0.5-0.7) = 42 L -> t1/2 7.2 h (6-8 h) [S] Patsalos 2004.
    - FU 1.0 (unbound) [S]; oral F 1.0, KA 2 /h [M].
    - Doses: ESETT 60 mg/kg (max 4500 mg) over 10 min [S]; maintenance 1000 mg twice daily [M].
    """
    routes = {"iv": {"cmt": "LEV.CENTRAL"}, "oral": {"cmt": "LEV.DEPOT", "F": 1.0, "KA": 2.0}}
    return _build("levetiracetam", "LEV", OneCompartmentOral(drug="LEV"),
                  {"CL": 0.96 * 60 / 1000 * weight, "V": 0.6 * weight, "FU": 1.0}, routes=routes, route="oral",
                  doses={"SE loading (mg/kg)": 60.0, "SE loading max": 4500.0, "maintenance": 1000.0},
                  sources=levetiracetam.__doc__, mw=170.21)


def valproate(weight: float = 70.0) -> Drug:
    """Valproate (prefix ``VPA``), two-compartment, low extraction (no liver component).

    - CL 7.5 mL/h/kg (6.67-8.33, multiple dose) [S] Bowdle 1980 = 0.525 L/h; t1/2 12.2 h and V1
      0.065 L/kg [S] (IV 400 mg, scilit a85412); Q 2 L/h [M]; V2 [C] for t1/2 12.2 h (Vss 0.124 L/kg,
      matching 0.13 +- 0.04 [S]).
    - FU 0.10 (20-60 mg/L) [S] Seizure 2018; saturable binding (fu rising with concentration) is not
      modelled. Oral F 1.0, KA 1.0 /h [M].
    - Doses: ESETT 40 mg/kg (max 3000 mg) over 10 min [S].
    """
    w = weight / 70.0
    cl, v1, q = 7.5 / 1000 * weight, 0.065 * weight, 2.0 * w
    routes = {"iv": {"cmt": "VPA.CENTRAL"}, "oral": {"cmt": "VPA.DEPOT", "F": 1.0, "KA": 1.0}}
    return _build("valproate", "VPA", TwoCompartmentOral(drug="VPA"),
                  {"CL": cl, "V1": v1, "Q": q, "V2": v2_for_half_life(cl, v1, q, 12.2), "FU": 0.10},
                  routes=routes, route="oral", doses={"SE loading (mg/kg)": 40.0, "SE loading max": 3000.0},
                  sources=valproate.__doc__, mw=144.21)


def phenobarbital(weight: float = 70.0) -> Drug:
    """Phenobarbital (prefix ``PB``), one-compartment.

    - Vss 0.54 L/kg, CL 3.8 mL/h/kg -> t1/2 98.5 h (75-126 h) [S] Wilensky 1982 (healthy adults).
    - IM and oral F ~ 1.0 [S] same; KA 1 /h (oral), 2 /h (IM) [M]. FU 0.5 [M].
    - Doses: SE loading 15 mg/kg (VA cooperative) [S] (10-20 mg/kg at <= 100 mg/min [S] epilepsy.com).
    """
    routes = {"iv": {"cmt": "PB.CENTRAL"}, "oral": {"cmt": "PB.DEPOT", "F": 1.0, "KA": 1.0},
              "im": {"cmt": "PB.DEPOT", "F": 1.0, "KA": 2.0}}
    return _build("phenobarbital", "PB", OneCompartmentOral(drug="PB"),
                  {"CL": 3.8 / 1000 * weight, "V": 0.54 * weight, "FU": 0.5}, routes=routes, route="oral",
                  doses={"SE loading (mg/kg)": 15.0}, sources=phenobarbital.__doc__, mw=232.24)


def ketamine(weight: float = 70.0) -> Drug:
    """Ketamine (prefix ``KET``), one-compartment, with norketamine (``NKET``).

    - V 252 L/70 kg, CL 79 L/h/70 kg (meta-analysis) [S] Kamp 2020 -> t1/2 2.2 h [C]. One compartment:
      the early peak after an IV bolus is under-predicted (10 mg: 40 vs 296 ng/mL observed [S] PMC9118341).
    - Oral F 0.08 [S] Fanta 2015 (S-ketamine), KA 1 /h [M]; IM F 0.93, KA 3 /h [M]. FU 0.55 [M].
    - No liver component: CL is close to hepatic blood flow (flow-limited; CYP3A4/CYP2B6 fm [M] not
      wired), so enzyme changes barely alter IV clearance.
    - Norketamine: CL 60 L/h and V 200 L [M]; formation clearance 11.4 L/h [C], calibrated so that the
      norketamine/ketamine AUC ratio after 10 mg IV is 0.19 [S] (PMC9118341). Oral norketamine (AUC
      ~16.5 x parent [S] Fanta 2015) is under-predicted: first-pass formation is not modelled.
    - Doses: 1-2 mg/kg IV for refractory SE [M]; potency of norketamine ~1/3 [S].
    """
    w = weight / 70.0
    routes = {"iv": {"cmt": "KET.CENTRAL"}, "oral": {"cmt": "KET.DEPOT", "F": 0.08, "KA": 1.0},
              "im": {"cmt": "KET.DEPOT", "F": 0.93, "KA": 3.0}}
    met = Metabolite("NKET", "KET", clf=0.19 * 60.0 * w, cl=60.0 * w, v=200.0 * w, fu=0.5)
    return _build("ketamine", "KET", OneCompartmentOral(drug="KET"),
                  {"CL": 79.0 * w, "V": 252.0 * w, "FU": 0.55}, routes=routes, route="im", metabolite=met,
                  doses={"bolus (mg/kg)": 1.5}, sources=ketamine.__doc__, mw=237.73)


def _james_lbm(weight: float, height: float, sex: str) -> float:
    if sex == "male":
        return 1.1 * weight - 128 * (weight / height) ** 2
    if sex == "female":
        return 1.07 * weight - 148 * (weight / height) ** 2
    raise ModelError(f"sex must be 'male' or 'female', got {sex!r}")


def propofol(weight: float = 70.0, *, model: str = "marsh", age: float = 40.0, height: float = 170.0,
             sex: str = "male") -> Drug:
    """Propofol (prefix ``PPF``), three-compartment, IV only (no liver component: UGT, flow-limited).

    ``model="marsh"`` [S] (Absalom 2009 table, docsubra.com): V1 0.228 L/kg, k10 0.119, k12 0.112,
    k21 0.055, k13 0.0419, k31 0.0033 /min -> CL = k10 V1, Q = k12 V1, V2 = Q/k21, Q3 = k13 V1,
    V3 = Q3/k31 [C]. ke0 0.26 /min (Diprifusor) or 1.21 /min (modified) [S] -- not part of this PK model.

    ``model="schnider"``: V1 4.27 L [S]; **the covariate equations are [M] (not checked against the primary
    paper: must be checked before use)**: V2 = 18.9 - 0.391 (age - 53) L; V3 = 238 L; CL = 1.89 + 0.0456 (WT - 77)
    - 0.0681 (LBM - 59) + 0.0264 (HT - 177) L/min; Q = 1.29 - 0.024 (age - 53) L/min; Q3 = 0.836 L/min;
    LBM by James [M]. ke0 0.456 /min [S].

    Doses: induction 2 mg/kg [M]; PRIS risk above 4 mg/kg/h for > 48 h [S] (Fodale 2008).
    """
    if model == "marsh":
        v1 = 0.228 * weight
        k10, k12, k21, k13, k31 = (k * 60 for k in (0.119, 0.112, 0.055, 0.0419, 0.0033))
        pk = {"CL": k10 * v1, "V1": v1, "Q": k12 * v1, "V2": k12 * v1 / k21, "Q3": k13 * v1,
              "V3": k13 * v1 / k31}
    elif model == "schnider":
        lbm = _james_lbm(weight, height, sex)
        pk = {"CL": 60 * (1.89 + 0.0456 * (weight - 77) - 0.0681 * (lbm - 59) + 0.0264 * (height - 177)),
              "V1": 4.27, "Q": 60 * (1.29 - 0.024 * (age - 53)), "V2": 18.9 - 0.391 * (age - 53),
              "Q3": 60 * 0.836, "V3": 238.0}
    else:
        raise ModelError(f"propofol model must be 'marsh' or 'schnider', got {model!r}")
    pk["FU"] = 0.02  # [M] (98 % bound)
    return _build("propofol", "PPF", ThreeCompartment(drug="PPF"), pk, routes={"iv": {"cmt": "PPF.CENTRAL"}},
                  doses={"induction (mg/kg)": 2.0, "PRIS threshold (mg/kg/h)": 4.0}, sources=propofol.__doc__,
                  mw=178.27)


# ------------------------------------------------------------------------------------------------
# perpetrators
# ------------------------------------------------------------------------------------------------
def carbamazepine(weight: float = 70.0) -> Drug:
    """Carbamazepine (prefix ``CBZ``), one-compartment oral, CYP3A4 substrate and inducer (autoinduction).

    - Pre-induction CL 1.75 L/h, V 98 L (kel 0.0179 /h), F 0.8 (70 kg); post-induction CL 4.48 L/h [S]
      boomer.org (Hawkins Van Tyle & Winter). Vss 1.4 L/kg = 98 L [S] (DMD Simcyp table).
    - fm CYP3A4 0.55, fu 0.26 [S] (DMD Simcyp table); blood/plasma 0.79 [M]; KA 0.5 /h [M].
    - Induction of CYP3A4: Emax 9 (in vitro 8-10) [M]; EC50 (unbound) 20 uM = 4.73 mg/L, the low end
      of the in vitro 20-50 uM [M], chosen [C] so that (a) autoinduction raises CL/F about 2-fold by day
      28 of a 200 -> 600 mg/day titration (target 1.8-3.0; CL doubles within a month [S]; full induction
      4.48/1.75 = 2.56 [S]; with 40 uM the day-28 ratio was 1.65, with 25 uM 1.83) and (b) oral
      midazolam AUC falls to ~0.2 x with CBZ 300 mg bid (0.21 [S] PMC9468573). Gut Emax equal to liver
      Emax (no data; ``gut_induction_scale`` 1).
    - Carbamazepine is its own victim: compose its components with ``cyp3a4(inducers=[cbz])``.
    - Doses: 200 mg twice daily start, 300-600 mg twice daily maintenance [M].
    """
    w = weight / 70.0
    cl, bp, fu = 1.75 * w, 0.79, 0.26
    routes = {"oral": {"cmt": "CBZ.DEPOT", "F": 0.8, "KA": 0.5}}
    liver = WellStirredLiver("CBZ", {"CYP3A4": 0.55}, clh=cl / bp, qh=QH_PER_KG * weight, fub=fu / bp, fg=1.0)
    return _build("carbamazepine", "CBZ", OneCompartmentOral(drug="CBZ"), {"CL": cl, "V": 98.0 * w, "FU": fu},
                  routes=routes, route="oral", liver=liver, fm={"CYP3A4": 0.55}, fm_gut={"CYP3A4": 0.55},
                  induction={"CYP3A4": Induction(emax=9.0, ec50=20.0 * 236.27 / 1000)},
                  doses={"start": 200.0, "maintenance": 300.0}, sources=carbamazepine.__doc__, mw=236.27)


def rifampicin(weight: float = 70.0) -> Drug:
    """Rifampicin (prefix ``RIF``), one-compartment oral, CYP3A4 inducer.

    - Induction: Emax 12.3, EC50u 0.0526 mg/L [S] Asaumi 2018 mrgsolve rifampicin_midazolam.cpp (12.3 is the
      file's alternative Emax; its default 4.57 matches the 5.5-fold hepatic maximum of AAPS J 2019 [S]).
      The same Emax acts on liver and gut (``gut_induction_scale`` 1), with Asaumi's kdeg (43.9 h / 24.1 h).
      Why 12.3: with 4.57 (and the 9.5-fold gut maximum of AAPS J 2019) oral midazolam recovers far too fast
      after rifampicin stops -- AUC 38 % of baseline 4 days later against 13 % observed (Backman 1998 [S]),
      with the 1-day ratio 0.076 against 0.023 -- whereas 12.3 gives 0.025 at 1 day and 0.19 at 4 days, and
      the IV ratio 0.41 (DMD table 3: 0.38-0.65 [S]). The price is a maximal induction (13.3-fold) above the
      in vivo estimate of AAPS J 2019; treat the pair (Emax, kdeg) as one calibrated description [C].
    - FU 0.0778 (Asaumi fB, taken as plasma unbound fraction with B/P ~ 1 [M]) [S].
    - F1 0.943 (Fa 1.0, Fg 0.943) [S] Asaumi; Fh ~ 1 [M].
    - CL 7.0 L/h, V 45 L, KA 1.15 /h [M] (single-dose values, Cmax ~10 mg/L after 600 mg). Rifampicin's own
      autoinduction is not modelled; with post-induction values (CL 10.5 L/h, V 55 L) the three midazolam
      ratios above become 0.036 / 0.24 / 0.42, still within 2-fold of the clinical values.
    - Doses: 600 mg once daily [S] (Backman 1996).
    """
    w = weight / 70.0
    routes = {"oral": {"cmt": "RIF.DEPOT", "F": 0.943, "KA": 1.15}, "iv": {"cmt": "RIF.CENTRAL"}}
    return _build("rifampicin", "RIF", OneCompartmentOral(drug="RIF"), {"CL": 7.0 * w, "V": 45.0 * w, "FU": 0.0778},
                  routes=routes, route="oral", induction={"CYP3A4": Induction(emax=12.3, ec50=0.0526)},
                  doses={"daily": 600.0}, sources=rifampicin.__doc__, mw=822.94)


def clarithromycin(weight: float = 70.0) -> Drug:
    """Clarithromycin (prefix ``CLA``), one-compartment oral, mechanism-based CYP3A4 inactivator.

    - KI 5.3 uM x MW 747.95 = 3.964 mg/L (unbound); kinact 0.4 /h (liver), 4 /h (gut) [S] Quinney 2010
      (DMD 38:241, PMC2812061).
    - PK [M]: F 0.55; CL 11.5 L/h (steady-state average ~2 mg/L with 500 mg twice daily [C]); V 100 L;
      KA 1.5 /h; FU 0.3 (42-72 % bound [M]). Its own time-dependent (nonlinear) PK is not modelled.
    - Doses: 500 mg twice daily [S] (Quinney 2010).
    """
    w = weight / 70.0
    routes = {"oral": {"cmt": "CLA.DEPOT", "F": 0.55, "KA": 1.5}, "iv": {"cmt": "CLA.CENTRAL"}}
    return _build("clarithromycin", "CLA", OneCompartmentOral(drug="CLA"), {"CL": 11.5 * w, "V": 100.0 * w, "FU": 0.3},
                  routes=routes, route="oral",
                  inactivation={"CYP3A4": Inactivation(kinact=0.4, ki=5.3 * 747.95 / 1000, kinact_gut=4.0)},
                  doses={"twice daily": 500.0}, sources=clarithromycin.__doc__, mw=747.95)


def tariquidar(weight: float = 70.0) -> Drug:
    """Tariquidar (prefix ``TQD``), two-compartment IV, P-gp inhibitor (total plasma concentration).

    - Inhibition: Imax 1, IC50 0.25 mg/L, Hill 2 [C]: inhibition 94 % at 1 mg/L, matching the PET
      plateau above 1000 ng/mL total plasma tariquidar [S] (PubMed 22166851); the IC50 itself is [C].
    - PK [M] (illustrative): CL 15 L/h, V1 40 L, Q 40 L/h, V2 600 L (long terminal t1/2; P-gp inhibition
      lasts ~48 h after one dose [S] PubMed 17428165). FU 0.05 [M].
    - Doses: PET studies 3-8 mg/kg IV [S] (PubMed 22166851).
    """
    w = weight / 70.0
    return _build("tariquidar", "TQD", TwoCompartment(drug="TQD"),
                  {"CL": 15.0 * w, "V1": 40.0 * w, "Q": 40.0 * w, "V2": 600.0 * w, "FU": 0.05},
                  routes={"iv": {"cmt": "TQD.CENTRAL"}}, pgp_inhibition=PgpInhibition(imax=1.0, ic50=0.25, hill=2.0),
                  doses={"PET (mg/kg)": 3.0}, sources=tariquidar.__doc__, mw=646.7)


def pgp_probe(weight: float = 70.0, inhibitors=()) -> Drug:
    """A verapamil-like P-gp substrate (prefix ``VPM``) with a brain compartment behind P-gp.

    - Brain: CLin = CLout = 10 L/h [M] (BrainPgp default), CLpgp = 17 L/h [C], so that full P-gp
      inhibition raises Kp,uu (and brain VT) 2.7-fold, the human maximum with tariquidar [S]
      (PubMed 22166851): (CLout + CLpgp) / CLout = 2.7; baseline Kp,uu = 10/27 = 0.37.
    - PK [M] (verapamil-like): CL 60 L/h, V 300 L, FU 0.1; IV only (microdose tracer).
    - ``inhibitors``: Drug objects with ``pgp_inhibition`` (e.g. :func:`tariquidar`), wired into BrainPgp.
    """
    w = weight / 70.0
    inh = {}
    for d in inhibitors:
        if d.pgp_inhibition is None:
            raise ModelError(f"{d.name} has no P-gp inhibition parameters")
        inh[d.prefix] = d.pgp_inhibition
    brain = BrainPgp("VPM", clin=10.0, clout=10.0, clpgp=17.0, inhibitors=inh)
    return _build("P-gp probe (verapamil-like)", "VPM", OneCompartmentOral(drug="VPM"),
                  {"CL": 60.0 * w, "V": 300.0 * w, "FU": 0.1}, routes={"iv": {"cmt": "VPM.CENTRAL"}},
                  brain=brain, doses={"tracer": 0.001}, sources=pgp_probe.__doc__, mw=454.6)


#: Every drug constructor by name.
LIBRARY = {f.__name__: f for f in (midazolam, lorazepam, diazepam, clobazam, phenytoin, fosphenytoin, levetiracetam,
                                   valproate, phenobarbital, ketamine, propofol, carbamazepine, rifampicin,
                                   clarithromycin, tariquidar, pgp_probe)}
