"""CPIC genotype -> phenotype tables and clearance-multiplier hand calculations.

Sources (full references in docs/references.md):
- CYP2C19: CPIC phenotype by allele function, NCBI Medical Genetics Summaries table 2 (CPIC-adapted)
  [S]: UM *17/*17; RM *1/*17; NM *1/*1; IM *1/*2, *1/*3, *2/*17 (and *3/*17: *3 is no-function like
  *2); PM *2/*2, *2/*3, *3/*3.
- CYP2C9: CPIC 2020 phenytoin guideline (pharmgkb.blogspot.com; precisionmedicine.ufhealth.org) [S]:
  allele activity values *1 = 1, *2 = 0.5 ([M], from memory), *3 = 0; AS 2 NM, AS 1.5 and 1 IM,
  AS 0.5 and 0 PM; *2/*2 (AS 1) is IM.
- CYP3A5: CPIC tacrolimus guideline: *1/*1 NM, *1/*3 IM, *3/*3 PM.
- Phenytoin fm,CYP2C9 ≈ 0.8-0.9 [M]; 0.85 used here.
- Clobazam (FDA label via NCBI MedGen CN456489) [S]: N-desmethylclobazam AUC 3-5x higher in CYP2C19
  PM and ~2x in IM.
"""

from itertools import combinations_with_replacement

import numpy as np
import pytest

from pkpd.physiology.genetics import (
    ALLELE_FUNCTION,
    clearance_multiplier,
    clearance_multiplier_for,
    phenotype,
)

# (gene, diplotype, CPIC phenotype, activity score or None) -- written out from the sources above.
CPIC_TABLE = [
    # CYP2C19 (allele function; CPIC defines no activity score)
    ("CYP2C19", "*1/*1", "normal metabolizer", None),
    ("CYP2C19", "*1/*2", "intermediate metabolizer", None),
    ("CYP2C19", "*1/*3", "intermediate metabolizer", None),
    ("CYP2C19", "*1/*17", "rapid metabolizer", None),
    ("CYP2C19", "*2/*2", "poor metabolizer", None),
    ("CYP2C19", "*2/*3", "poor metabolizer", None),
    ("CYP2C19", "*2/*17", "intermediate metabolizer", None),
    ("CYP2C19", "*3/*3", "poor metabolizer", None),
    ("CYP2C19", "*3/*17", "intermediate metabolizer", None),
    ("CYP2C19", "*17/*17", "ultrarapid metabolizer", None),
    # CYP2C9 (CPIC 2020 activity score)
    ("CYP2C9", "*1/*1", "normal metabolizer", 2.0),
    ("CYP2C9", "*1/*2", "intermediate metabolizer", 1.5),
    ("CYP2C9", "*1/*3", "intermediate metabolizer", 1.0),
    ("CYP2C9", "*2/*2", "intermediate metabolizer", 1.0),
    ("CYP2C9", "*2/*3", "poor metabolizer", 0.5),
    ("CYP2C9", "*3/*3", "poor metabolizer", 0.0),
    # CYP3A5 (CPIC tacrolimus)
    ("CYP3A5", "*1/*1", "normal metabolizer", None),
    ("CYP3A5", "*1/*3", "intermediate metabolizer", None),
    ("CYP3A5", "*3/*3", "poor metabolizer", None),
]

ABBREVIATION = {
    "ultrarapid metabolizer": "UM",
    "rapid metabolizer": "RM",
    "normal metabolizer": "NM",
    "intermediate metabolizer": "IM",
    "poor metabolizer": "PM",
}


@pytest.mark.calibration_check
@pytest.mark.parametrize("gene, diplotype, expected, score", CPIC_TABLE, ids=[f"{g}{d}" for g, d, _, _ in CPIC_TABLE])
def test_calibration_check_cpic_phenotype(gene, diplotype, expected, score):
    """Calibration check (transcription): pkpd.physiology.genetics' phenotype tables were written from these CPIC tables.
    Every diplotype of the listed alleles maps to its CPIC phenotype (sources in the module docstring)."""
    p = phenotype(gene, diplotype)
    assert p.gene == gene
    assert p.diplotype == diplotype
    assert p.phenotype == expected
    assert p.abbreviation == ABBREVIATION[expected]
    assert p.activity_score == score
    assert p.cpic is True
    # either allele order gives the same phenotype
    a, b = diplotype.split("/")
    assert phenotype(gene, f"{b}/{a}") == p


@pytest.mark.parametrize("gene", ["CYP2C19", "CYP2C9", "CYP3A5"])
def test_table_covers_every_diplotype(gene):
    """The literal table lists every unordered pair of the module's alleles for each CPIC gene, and no more."""
    in_table = {d for g, d, _, _ in CPIC_TABLE if g == gene}
    alleles = sorted(ALLELE_FUNCTION[gene], key=lambda a: int(a[1:]))
    expected = {f"{a}/{b}" for a, b in combinations_with_replacement(alleles, 2)}
    assert in_table == expected


@pytest.mark.calibration_check
def test_calibration_check_cpic_allele_functions():
    """Calibration check (transcription): ALLELE_FUNCTION was written from these CPIC sources.
    Allele functions as in CPIC (NCBI Medical Genetics Summaries table 2; CPIC 2020 phenytoin update)."""
    assert dict(ALLELE_FUNCTION["CYP2C19"]) == {
        "*1": "normal function", "*2": "no function", "*3": "no function", "*17": "increased function",
    }
    assert dict(ALLELE_FUNCTION["CYP2C9"]) == {
        "*1": "normal function", "*2": "decreased function", "*3": "no function",
    }
    assert dict(ALLELE_FUNCTION["CYP3A5"]) == {"*1": "normal function", "*3": "no function"}


def test_cyp2c9_activity_is_half_the_score(validation):
    """Modelling assumption: CYP2C9 relative activity = AS / 2 (gene-dose additivity of CPIC values)."""
    for gene, diplotype, _, score in CPIC_TABLE:
        if gene == "CYP2C9":
            validation.compare('phenotype(gene, diplotype).activity', phenotype(gene, diplotype).activity, score / 2,
                               rtol=1e-6, atol=1e-12)


def test_multiplier_identities(validation):
    """fm = 0 leaves clearance unchanged; fm = 1 with no activity removes it; activity 1 is neutral."""
    activities = np.array([0.0, 0.35, 0.5, 1.0, 1.25, 1.5, 3.0])
    np.testing.assert_array_equal(clearance_multiplier(0.0, activities), np.ones_like(activities))
    assert clearance_multiplier(1.0, 0.0) == 0.0
    fms = np.linspace(0, 1, 11)
    validation.compare('clearance_multiplier(fms, 1.0)', clearance_multiplier(fms, 1.0), 1.0, rtol=0, atol=1e-15)
    validation.compare('clearance_multiplier(1.0, activities)', clearance_multiplier(1.0, activities), activities,
                       rtol=0, atol=1e-15)


def test_phenytoin_cyp2c9_poor_metabolizer_hand_calculation(validation):
    """Phenytoin, fm,CYP2C9 = 0.85 (0.8-0.9, from memory [M]); CYP2C9 *3/*3 (AS 0, PM).

    Hand calculation: CL multiplier = 1 - 0.85 + 0.85 * 0 = 0.15. For *1/*3 (AS 1, activity 0.5):
    1 - 0.85 + 0.85 * 0.5 = 0.575.

    CPIC 2020 recommends a ~50 % lower maintenance dose for PMs (and ~25 % lower for AS 1). Phenytoin
    elimination is Michaelis-Menten, so that dose check belongs with the MM model (where the
    multiplier scales Vmax), not here.
    """
    validation.compare('clearance_multiplier_for("CYP2C9", "*3/*3", 0.85)',
                       clearance_multiplier_for("CYP2C9", "*3/*3", 0.85), 0.15, atol=1e-12)
    validation.compare('clearance_multiplier_for("CYP2C9", "*1/*3", 0.85)',
                       clearance_multiplier_for("CYP2C9", "*1/*3", 0.85), 0.575, atol=1e-12)
    validation.compare('clearance_multiplier_for("CYP2C9", "*1/*1", 0.85)',
                       clearance_multiplier_for("CYP2C9", "*1/*1", 0.85), 1.0, atol=1e-12)


@pytest.mark.calibration_check
def test_calibration_check_clobazam_metabolite_exposure_ratios(validation):
    """Calibration check: fm,CYP2C19 0.75 and the IM activity 0.35 were chosen to give these label ratios; the
    hand-computed values (4.0, 1/(0.25 + 0.75 * 0.35)) are independent.
    N-desmethylclobazam AUC 3-5x in CYP2C19 PM and ~2x in IM (FDA label via NCBI MedGen CN456489 [S]).

    N-CLB is eliminated mainly by CYP2C19, formed by CYP3A4, so AUC(N-CLB) ratio vs NM = 1 / CL
    multiplier. With fm,CYP2C19 = 0.75 the chosen activities give PM 1/0.25 = 4.0 and
    IM 1/(0.25 + 0.75 * 0.35) = 1.95.
    """
    fm = 0.75
    pm_ratio = 1 / clearance_multiplier_for("CYP2C19", "*2/*2", fm)
    im_ratio = 1 / clearance_multiplier_for("CYP2C19", "*1/*2", fm)
    validation.compare('pm_ratio', pm_ratio, 4.0, rtol=1e-6, atol=1e-12, calibration=False)
    validation.within('pm_ratio', pm_ratio, 3.0, 5.0)
    validation.compare('im_ratio', im_ratio, 1 / (0.25 + 0.75 * 0.35), rtol=1e-6, atol=1e-12, calibration=False)
    validation.within('im_ratio', im_ratio, 1.8, 2.2)


def test_diazepam_pm_clearance_range(validation):
    """Diazepam CL ≈ 40-60 % lower in CYP2C19 PM ([M] Bertilsson 1989; Sohn 1992).

    With PM activity 0, multiplier = 1 - fm, so fm,CYP2C19 of 0.4-0.6 reproduces the range; check the
    ends and that PM activity is indeed 0 (no functional enzyme).
    """
    assert phenotype("CYP2C19", "*2/*3").activity == 0.0
    validation.compare('clearance_multiplier_for("CYP2C19", "*2/*2", 0.4)',
                       clearance_multiplier_for("CYP2C19", "*2/*2", 0.4), 0.6, rtol=1e-6, atol=1e-12)
    validation.compare('clearance_multiplier_for("CYP2C19", "*2/*2", 0.6)',
                       clearance_multiplier_for("CYP2C19", "*2/*2", 0.6), 0.4, rtol=1e-6, atol=1e-12)


def test_cyp2c19_activity_ordering():
    """Activity rises with allele function: PM < IM < NM < RM < UM."""
    acts = [phenotype("CYP2C19", d).activity for d in ("*2/*2", "*1/*2", "*1/*1", "*1/*17", "*17/*17")]
    assert acts == sorted(acts) and len(set(acts)) == 5
