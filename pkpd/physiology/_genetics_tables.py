"""Pharmacogenetic data tables for :mod:`pkpd.physiology.genetics`, each with its source.

Allele functions, CPIC diplotype -> phenotype rules, the relative activities used to scale clearance, and allele
frequency data by ancestry. Data only; :mod:`pkpd.physiology.genetics` turns them into phenotypes.

Genes and what the tables rest on (tags: [S] read in a source, [M] literature
knowledge not checked against the primary paper; full references in docs/references.md):

=========  ==========================================================  ===========================
gene       alleles (function)                                          phenotype basis
=========  ==========================================================  ===========================
CYP2C19    *1 normal, *2 no function, *3 no function, *17 increased    CPIC, by allele function [S]
CYP2C9     *1 normal (1), *2 decreased (0.5 [M]), *3 no function (0)   CPIC 2020 activity score [S]
CYP3A5     *1 normal (expresser), *3 no function (non-expresser)       CPIC tacrolimus guideline
CYP3A4     *1 normal, *22 decreased                                    literature effect size [M]
ABCB1      3435 C (reference), 3435 T (lower expression)               literature effect size [M]
=========  ==========================================================  ===========================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_freeze = MappingProxyType

#: Genes this module knows, in the order of the tables below.
GENES: tuple[str, ...] = ("CYP2C19", "CYP2C9", "CYP3A5", "CYP3A4", "ABCB1")

#: Allele -> function, per gene. CYP2C19, CYP2C9 and CYP3A5 as CPIC [S];
#: CYP3A4*22 and ABCB1 3435T are literature effect sizes (Elens 2011; Hoffmeyer 2000 [M]).
ALLELE_FUNCTION: Mapping[str, Mapping[str, str]] = _freeze(
    {
        "CYP2C19": _freeze({"*1": "normal function", "*2": "no function", "*3": "no function",
                            "*17": "increased function"}),
        "CYP2C9": _freeze({"*1": "normal function", "*2": "decreased function", "*3": "no function"}),
        "CYP3A5": _freeze({"*1": "normal function", "*3": "no function"}),
        "CYP3A4": _freeze({"*1": "normal function", "*22": "decreased function"}),
        "ABCB1": _freeze({"C": "normal function", "T": "decreased function"}),
    }
)

#: CYP2C9 allele activity values (CPIC 2020): *1 = 1, *2 = 0.5, *3 = 0. The activity score of a
#: diplotype is their sum. The *2 value of 0.5 is [M] (CPIC, from memory, not checked
#: against the guideline text); *3 = 0 is [S].
ALLELE_ACTIVITY_VALUE: Mapping[str, Mapping[str, float]] = _freeze(
    {"CYP2C9": _freeze({"*1": 1.0, "*2": 0.5, "*3": 0.0})}
)

#: CYP2C19 phenotype by the functions of its two alleles (CPIC [S], as adapted in NCBI Medical
#: Genetics Summaries table 2): *17/*17 UM; *1/*17 RM; *1/*1 NM; *1/*2, *1/*3, *2/*17, *3/*17 IM;
#: *2/*2, *2/*3, *3/*3 PM.
_CYP2C19_BY_FUNCTION: Mapping[tuple[str, str], str] = _freeze(
    {
        ("increased function", "increased function"): "UM",
        ("increased function", "normal function"): "RM",
        ("normal function", "normal function"): "NM",
        ("no function", "normal function"): "IM",
        ("increased function", "no function"): "IM",
        ("no function", "no function"): "PM",
    }
)

#: CYP2C9 phenotype by activity score (CPIC 2020 phenytoin guideline update [S]).
_CYP2C9_BY_SCORE: Mapping[float, str] = _freeze({2.0: "NM", 1.5: "IM", 1.0: "IM", 0.5: "PM", 0.0: "PM"})

#: CYP3A5 phenotype by diplotype (CPIC tacrolimus guideline: *1/*1 NM, *1/*3 IM, *3/*3 PM).
_CYP3A5_BY_DIPLOTYPE: Mapping[str, str] = _freeze({"*1/*1": "NM", "*1/*3": "IM", "*3/*3": "PM"})

_CPIC_TERM: Mapping[str, str] = _freeze(
    {
        "UM": "ultrarapid metabolizer",
        "RM": "rapid metabolizer",
        "NM": "normal metabolizer",
        "IM": "intermediate metabolizer",
        "PM": "poor metabolizer",
    }
)

#: Relative CYP2C19 activity (vs a normal metabolizer) used to scale clearance. Modelling
#: assumptions:
#:
#: - PM 0: both alleles are no-function alleles, so no functional enzyme.
#: - IM 0.35: chosen so that one fm reproduces both clobazam label ratios ([S] FDA
#:   label via NCBI MedGen CN456489): N-desmethylclobazam (N-CLB) is eliminated mainly by CYP2C19, so
#:   its AUC ratio vs NM is 1 / (1 - fm + fm * activity). With fm = 0.75, PM gives 4.0x (label 3-5x)
#:   and IM 0.35 gives 1.95x (label ~2x). A gene-dose value of 0.5 would give only 1.6x at fm = 0.75
#:   (and at most 1.67x for any fm consistent with the PM range), below the label's ~2x.
#: - NM 1 by definition.
#: - RM 1.25 and UM 1.5: the third-party CYP2C19 activity convention (*1 = 1, *17 = 1.5, *2/*3 = 0;
#:   [S] opicalc.com, explicitly non-CPIC) gives *1/*17 = 2.5 and *17/*17 = 3, i.e.
#:   1.25 and 1.5 relative to *1/*1 = 2. Low confidence.
_CYP2C19_ACTIVITY: Mapping[str, float] = _freeze({"UM": 1.5, "RM": 1.25, "NM": 1.0, "IM": 0.35, "PM": 0.0})

#: Relative CYP3A5 activity vs a *1/*1 expresser (gene dose: one functional allele = half; *3/*3
#: expresses no functional CYP3A5). Note that for midazolam Shih 2002 (Drug Metab Dispos)
#: and Floyd 2003 [S] find no CYP3A5*3 effect on clearance, i.e. an effective fm,CYP3A5 near 0 for midazolam.
_CYP3A5_ACTIVITY: Mapping[str, float] = _freeze({"NM": 1.0, "IM": 0.5, "PM": 0.0})

#: Per-allele activity for the categorical genes; diplotype activity = mean of its two alleles
#: (additive gene dose). CYP3A4*22 = 0.3 makes a *1/*22 carrier 0.65 (35 % lower CYP3A4 activity,
#: mid-range of the 20-50 % of Elens 2011 [M]); *22/*22 = 0.3 is an extrapolation
#: (homozygotes are rare). ABCB1 3435T = 0.5 makes TT 0.5 (Hoffmeyer 2000: ~2-fold lower duodenal
#: P-gp [M]) and CT 0.75 (gene dose); low confidence (Gerloff 2002 found no effect
#: on digoxin, Br J Clin Pharmacol [S]).
_CATEGORICAL_ALLELE_ACTIVITY: Mapping[str, Mapping[str, float]] = _freeze(
    {
        "CYP3A4": _freeze({"*1": 1.0, "*22": 0.3}),
        "ABCB1": _freeze({"C": 1.0, "T": 0.5}),
    }
)

_CATEGORICAL_TERM: Mapping[str, Mapping[str, str]] = _freeze(
    {
        "CYP3A4": _freeze({"*1/*1": "normal CYP3A4 activity", "*1/*22": "decreased CYP3A4 activity",
                           "*22/*22": "decreased CYP3A4 activity"}),
        "ABCB1": _freeze({"CC": "normal P-gp expression", "CT": "intermediate P-gp expression",
                          "TT": "low P-gp expression"}),
    }
)


# ----------------------------------------------------------------------------------------------------
# Allele frequencies by ancestry
# ----------------------------------------------------------------------------------------------------

#: CYP2C19 poor-metabolizer prevalence by ancestry [S] (NCBI Medical Genetics Summaries, Diazepam
#: Therapy and CYP2C19 Genotype, NBK379740): ~2 % Europeans, 13 % East Asians, up to 57 % Oceanians (the upper
#: end of the reported range). No other ancestry and no other gene has data in the sources used.
_CYP2C19_PM_PREVALENCE: Mapping[str, float] = _freeze({"European": 0.02, "East Asian": 0.13, "Oceanian": 0.57})

#: Ancestries with allele-frequency data, per gene (genes not listed have none).
ANCESTRIES: Mapping[str, tuple[str, ...]] = _freeze({"CYP2C19": tuple(_CYP2C19_PM_PREVALENCE)})
