"""The status-epilepticus defaults in one table: value, unit, tag and source of every SE-specific number.

Tags: ``[S]`` read in the cited source; ``[M]`` literature knowledge seen second-hand (a review, a label, a
secondary table); ``[A]`` an assumption of this model (no source fixes the number; the reason is given);
``[C]`` calibrated to the clinical targets of ``pkpd/se/validation_targets.toml`` by
:func:`pkpd.se.calibration.calibrate` (those numbers are *not* sourced, whatever their plausibility).
The sources behind the per-drug brain and toxicity values are collected, with their conflicts, in
``docs/se-chain-sources.md``.

Everything the SE application sets lives here; :func:`pkpd.se.scenarios.se_model` hands these values to the
generic components of :mod:`pkpd.physiology` and :mod:`pkpd.models.effects`, whose own defaults stay generic.

Examples
--------
>>> from pkpd.se.defaults import NETWORK, brain_clearances, kpuu
>>> NETWORK["SHUNT"].value, NETWORK["SHUNT"].tag
(0.3, '[A]')
>>> {k: round(v, 3) for k, v in brain_clearances("MDZ").items()}
{'CLIN': 3.688, 'CLOUT': 3.688, 'CLPGP': 0.194}
>>> round(kpuu("MDZ"), 4)
0.95
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

__all__ = ["Default", "NETWORK", "BRAIN", "PD", "TOXICITY", "IIV", "VBR_L", "brain_clearances", "kpuu",
           "unbound_brain", "table"]


@dataclass(frozen=True)
class Default:
    """One SE default: ``value`` in ``unit`` with its evidence ``tag`` and ``source``."""

    value: float
    unit: str
    tag: str
    source: str


def _table(entries: dict) -> MappingProxyType:
    return MappingProxyType({k: Default(*v) for k, v in entries.items()})


#: The seizure balance (:class:`~pkpd.physiology.Seizure`, local parameter names). The calibrated values are
#: set by :mod:`pkpd.se.calibration` (``CALIBRATED``) and copied here by hand, which a test checks.
NETWORK = _table({
    "E0": (2.663, "1", "[C]", "median seizure severity (excitation at full activity, units of G0)"),
    "G_BZD": (121.2, "1", "[C]", "weight of a GABA-A modulator's effect (surface x occupancy): the benzodiazepines "
              "(alpha2/3/5) and phenobarbital (synaptic total)"),
    "G_2L": (15.27, "1", "[C]", "weight of the second-line effect outside GABA-A, shared by LEV, PHT and VPA"),
    "K_SEIZURE": (143.7, "1/h", "[C]", "rate at which seizure activity follows the balance (K_ON = K_OFF)"),
    "N_2L": (5.028, "1", "[C]", "Hill slope of the second-line effect outside GABA-A, shared by LEV, PHT and VPA"),
    "SHUNT": (0.3, "1", "[A]", "shunting share of GABA-A inhibition: F turns negative at E_GABA -43.1 mV, "
              "inside the post-SE range (about -42 mV; chloride 20 mM, Kaila 2014 Nat Rev Neurosci / "
              "Lee 2011 [M]); chosen before calibration so that depolarised E_GABA makes GABA-A excitatory"),
    "KLOSS_INFL": (0.1, "1/h", "[A]", "KCC2 loss per unit post-ictal inflammatory signal (half-life 24 h): 25x the "
                   "recovery rate KREC, so after a long seizure KCC2 stays near its floor for days, lowest 1-7 days "
                   "after SE as reported (Pathak 2007, J Neurosci [M]); set from that statement alone"),
    "G_ANAESTHETIC": (10.0, "1", "[A]", "weight of the anaesthetic's suppression at burst suppression: enough to "
                      "stop the most severe virtual seizure (burst suppression is titrated until seizures stop)"),
})

#: Brain entry per drug prefix: ``t_eq_min`` half-time of plasma -> brain ECF equilibration, ``pgp_share``
#: P-gp share of the total brain efflux clearance in the human BBB at baseline (= 1 - Kp,uu,WT / Kp,uu,no P-gp),
#: ``kpuu_passive`` CLin / CLout without P-gp (1 for passive diffusion). Sources: docs/se-chain-sources.md.
BRAIN = MappingProxyType({
    "MDZ": {"t_eq_min": 3.0, "pgp_share": 0.05, "kpuu_passive": 1.0, "tag": "[A]",
            "source": "fast entry (Greenblatt 2004; ke0 t1/2 4.8-5.6 min, Buhrer 1990 [M]); efflux ratio 1.16 in "
                      "Caco-2/MDR1 cells (Tolle-Sander 2003, Mol Pharm) -> weak P-gp substrate, 0.05 [A]"},
    "LZP": {"t_eq_min": 10.0, "pgp_share": 0.0, "kpuu_passive": 1.0, "tag": "[A]",
            "source": "slower entry than midazolam (less lipophilic; brain equilibrium 30-60 min in mice, "
                      "Greenblatt & Sethy 1990 [M]); no P-gp data found -> 0"},
    "DZP": {"t_eq_min": 1.5, "pgp_share": 0.0, "kpuu_passive": 1.0, "tag": "[M]",
            "source": "'immediate' brain entry (Ramsay 1979; Greenblatt 1989); Kp,uu about 1 (Wala 1991)"},
    "PB": {"t_eq_min": 7.5, "pgp_share": 0.0, "kpuu_passive": 1.0, "tag": "[A]",
           "source": "3 min in cats (Ramsay 1979) to 5-10 min; restriction by BCRP rather than P-gp (Baltes 2007, "
                     "J Pharmacol Exp Ther; conflict: Luna-Tortos 2008 [M]) -> 0"},
    "FOS": {"t_eq_min": 4.0, "pgp_share": 0.1, "kpuu_passive": 1.0, "tag": "[A]",
            "source": "phenytoin 3-5 min after it appears (Ramsay 1979); weak/disputed P-gp substrate: 20-30 % "
                      "lower brain levels in P-gp-overexpressing rat regions (van Vliet 2007, Epilepsia) -> 0.1"},
    "LEV": {"t_eq_min": 45.0, "pgp_share": 0.0, "kpuu_passive": 1.0, "tag": "[A]",
            "source": "brain ECF tmax 2-2.5 h vs serum 0.5 h in rats (Tong & Patsalos 2001, Br J Pharmacol); "
                      "not a P-gp substrate (Baltes 2007)"},
    "VPA": {"t_eq_min": 5.0, "pgp_share": 0.0, "kpuu_passive": 0.3, "tag": "[A]",
            "source": "ECF = free blood by 10-15 min (rat); not a P-gp substrate; low Kp,uu (0.03-0.5) from "
                      "organic-anion efflux (Baltes 2007; Shen 1992) -> 0.3"},
    "KET": {"t_eq_min": 0.75, "pgp_share": 0.2, "kpuu_passive": 1.0, "tag": "[A]",
            "source": "ke0 t1/2 23-47 s (Sleigh 2019 [M]); dual P-gp/BCRP substrate in mice, unquantified "
                      "(Ganguly 2018 [M]) -> 0.2"},
    "PPF": {"t_eq_min": 1.5, "pgp_share": 0.0, "kpuu_passive": 1.0, "tag": "[M]",
            "source": "Schnider ke0 0.456 /min (t1/2 1.5 min); no P-gp data -> 0"},
})

#: Brain ECF volume (L): 0.2 L/kg brain x 1.4 kg [M].
VBR_L = 0.28

#: Effect parameters per drug prefix, all as *total plasma* concentrations at steady state (mg/L), converted to
#: unbound brain ECF by :func:`unbound_brain`. ``role`` says which term of the seizure balance the drug feeds:
#: ``bzd`` (benzodiazepine site, surface alpha2/3/5), ``barbiturate`` (GABA-A modulator on every synaptic subtype,
#: so limited by the surface receptors and turned by the chloride gradient like any GABA-A effect),
#: ``second_line`` (inhibition outside GABA-A), ``nmda`` and ``anaesthetic``. The barbiturate is weighted like
#: the benzodiazepine (``G_BZD``: one weight for a GABA-A modulator at full occupancy [A], Hill 1); its EC50
#: follows the second-line rule (the lower end of its therapeutic range).
PD = MappingProxyType({
    "MDZ": {"role": "bzd", "c50": 0.100, "tag": "[S]",
            "source": "EEG beta EC50 104-120 ng/mL total (van Steveninck 1993, Br J Clin Pharmacol)"},
    "LZP": {"role": "bzd", "c50": 0.050, "tag": "[M]",
            "source": "SE control at 30-100 ng/mL total (Walker 1979 [M]); 50 ng/mL"},
    "DZP": {"role": "bzd", "c50": 0.100, "tag": "[M]",
            "source": "EEG change from 100 ng/mL total (Greenblatt 1989 [M])"},
    "LEV": {"role": "second_line", "c50": 12.0, "tag": "[M]", "source": "therapeutic range 12-46 mg/L, lower end"},
    "FOS": {"role": "second_line", "c50": 10.0, "tag": "[M]", "source": "phenytoin range 10-20 mg/L, lower end"},
    "VPA": {"role": "second_line", "c50": 50.0, "tag": "[M]", "source": "valproate range 50-100 mg/L, lower end"},
    "PB": {"role": "barbiturate", "c50": 15.0, "tag": "[M]",
           "source": "phenobarbital range 15-40 mg/L, lower end; a GABA-A modulator (Barker & McBurney 1979)"},
    "KET": {"role": "nmda", "ic50_um": 2.0, "tag": "[M]",
            "source": "NMDA current IC50 about 2 uM (1-5 uM), applied to the unbound brain ECF concentration"},
    "PPF": {"role": "anaesthetic", "c50": 2.5, "tag": "[M]",
            "source": "Ce50 for loss of consciousness 2.3-2.8 mg/L (Milne 2003 [M]); burst suppression target "
                      "9 mg/L serum (Forrest 1994 [M])", "target": 9.0},
})

#: Toxicity thresholds, total plasma at steady state (mg/L), converted like :data:`PD`.
#: ``sedation_c50``: deep sedation (Ramsay >= 5); respiratory depression is counted when the combined
#: sedation of the drugs given reaches 0.5 (at any time). ``hypotension_c``: concentration above which
#: hypotension needing treatment is counted. ``pris_mg_kg_h`` / ``pris_h``: the propofol infusion syndrome
#: rule (> 4 mg/kg/h for > 48 h, Fodale & La Monaca 2008, Drug Saf).
TOXICITY = MappingProxyType({
    "MDZ": {"sedation_c50": 0.304, "tag": "[M]", "source": "Ramsay >= 5 C50 304 ng/mL (Barr 2001, Anesthesiology)"},
    "LZP": {"sedation_c50": 0.152, "tag": "[M]", "source": "Ramsay >= 5 C50 152 ng/mL (Barr 2001, Anesthesiology)"},
    "PB": {"sedation_c50": 50.0, "hypotension_c": 50.0, "tag": "[A]",
           "source": "sedation above 50 mg/L (neonates, occasional); respiratory depression and hypotension at "
                     "SE loading [M]; 50 mg/L for both [A]"},
    "PPF": {"hypotension_c": 4.0, "pris_mg_kg_h": 4.0, "pris_h": 48.0, "tag": "[A]",
            "source": "mean arterial pressure -20 % at burst-suppression doses [M]; 4 mg/L [A]; PRIS rule "
                      "Fodale & La Monaca 2008 [S]"},
})

#: Between-patient variability (SD of the log): PK clearance and central volume 0.3 [M] (typical of population
#: PK); seizure severity E0 [C] (on its excess over the least self-sustaining severity); the floor of surface
#: KCC2 during seizure 0.3 [A] (how far chloride loads differs between patients -- post-SE [Cl]i 15-30 mM [M]
#: -- and with it whether GABA-A turns excitatory; 0.3 spans about that range).
#: Sensitivity to sedation (the deep-sedation C50 of every drug, one factor per patient) 0.5 [A]: Barr 2001's C50s
#: are population values (half the patients deeply sedated); 0.5 makes 10 mg IM midazolam deeply sedate about one
#: patient in seven at its peak, as often as RAMPART's patients were intubated (14 %, Silbergleit 2012 [M]).
IIV = MappingProxyType({"CL": 0.3, "V": 0.3, "E0": 1.692, "KCC2_MIN": 0.3, "SED_C50": 0.5})


def brain_clearances(prefix: str) -> dict:
    """``CLIN``, ``CLOUT`` and ``CLPGP`` (L/h) of :class:`~pkpd.physiology.BrainPgp` for a drug prefix, from its
    equilibration half-time, P-gp share and passive Kp,uu (:data:`BRAIN`): the efflux clearance is
    ``ln 2 VBR / t_eq``, split into P-gp and passive parts; the influx is ``kpuu_passive x CLOUT``."""
    b = BRAIN[prefix]
    total = math.log(2.0) * VBR_L / (b["t_eq_min"] / 60.0)
    clout = (1.0 - b["pgp_share"]) * total
    return {"CLIN": b["kpuu_passive"] * clout, "CLOUT": clout, "CLPGP": b["pgp_share"] * total}


def kpuu(prefix: str, pgp: float = 1.0) -> float:
    """Steady-state Kp,uu = CLIN / (CLOUT + CLPGP pgp) at relative P-gp activity ``pgp``."""
    c = brain_clearances(prefix)
    return c["CLIN"] / (c["CLOUT"] + c["CLPGP"] * pgp)


def unbound_brain(prefix: str, total: float, fu: float) -> float:
    """The unbound brain ECF concentration at steady state that corresponds to a ``total`` plasma concentration
    (mg/L) of a drug with unbound fraction ``fu``, at baseline P-gp: ``total x fu x Kp,uu``."""
    return total * fu * kpuu(prefix)


def table() -> pd.DataFrame:
    """Every SE default as one DataFrame: ``group``, ``name``, ``value``, ``unit``, ``tag``, ``source``.

    >>> t = table()
    >>> sorted(set(t["group"]))
    ['brain', 'iiv', 'network', 'pd', 'toxicity']
    """
    rows = [("network", k, d.value, d.unit, d.tag, d.source) for k, d in NETWORK.items()]
    for pre, b in BRAIN.items():
        for key, unit in (("t_eq_min", "min"), ("pgp_share", "1"), ("kpuu_passive", "1")):
            rows.append(("brain", f"{pre}.{key}", b[key], unit, b["tag"], b["source"]))
    for pre, d in PD.items():
        key, unit = ("c50", "mg/L total") if "c50" in d else ("ic50_um", "uM unbound")
        rows.append(("pd", f"{pre}.{key}", d[key], unit, d["tag"], f"{d['role']}: {d['source']}"))
    for pre, d in TOXICITY.items():
        for key in ("sedation_c50", "hypotension_c", "pris_mg_kg_h", "pris_h"):
            if key in d:
                rows.append(("toxicity", f"{pre}.{key}", d[key], "h" if key == "pris_h" else
                             "mg/kg/h" if key == "pris_mg_kg_h" else "mg/L total", d["tag"], d["source"]))
    for k, v in IIV.items():
        tag = {"E0": "[C]", "KCC2_MIN": "[A]", "SED_C50": "[A]"}.get(k, "[M]")
        rows.append(("iiv", k, v, "SD of log", tag, "between-patient variability"))
    return pd.DataFrame(rows, columns=["group", "name", "value", "unit", "tag", "source"])
