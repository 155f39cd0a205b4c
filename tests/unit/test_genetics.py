"""Unit tests for pkpd.physiology.genetics: parsing, bad input, Hardy-Weinberg sampling, covariate columns."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pkpd
from pkpd.errors import ModelError
from pkpd.physiology.genetics import (
    ALLELE_FUNCTION,
    GENES,
    PHENOTYPE_ACTIVITY,
    Phenotype,
    allele_frequencies,
    clearance_multiplier,
    clearance_multiplier_for,
    genotype_covariate,
    phenotype,
    sample_diplotypes,
)

# ------------------------------------------------------------------------------------------------
# parsing and normalisation
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gene, text, normalised",
    [
        ("CYP2C19", "*1/*2", "*1/*2"),
        ("CYP2C19", "*2/*1", "*1/*2"),
        ("CYP2C19", "*1 / *2", "*1/*2"),
        ("CYP2C19", "  *17/*1  ", "*1/*17"),
        ("CYP2C19", "*17/*2", "*2/*17"),  # numeric, not lexical, order
        ("CYP2C19", "CYP2C19*1/*2", "*1/*2"),
        ("CYP2C19", "cyp2c19 *2/*1", "*1/*2"),
        ("cyp2c19", "CYP2C19: *3/*3", "*3/*3"),
        ("CYP2C9", "CYP2C9*3/*2", "*2/*3"),
        ("CYP3A5", "*3/*1", "*1/*3"),
        ("CYP3A4", "*22/*1", "*1/*22"),
        ("ABCB1", "TC", "CT"),
        ("ABCB1", "c/t", "CT"),
        ("ABCB1", "ABCB1 TT", "TT"),
        ("ABCB1", "3435CC", "CC"),
        ("ABCB1", "C3435T T/C", "CT"),
    ],
)
def test_normalisation(gene, text, normalised):
    p = phenotype(gene, text)
    assert p.diplotype == normalised
    assert p.gene == gene.upper()


def test_phenotype_is_frozen():
    p = phenotype("CYP2C19", "*1/*1")
    assert isinstance(p, Phenotype)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.activity = 2.0  # type: ignore[misc]


def test_tables_are_read_only():
    with pytest.raises(TypeError):
        ALLELE_FUNCTION["CYP2C19"]["*4"] = "no function"  # type: ignore[index]
    with pytest.raises(TypeError):
        PHENOTYPE_ACTIVITY["CYP2C9"]["*1/*1"] = 0.0  # type: ignore[index]


def test_categorical_genes_are_not_cpic():
    for gene, diplotype, activity in [
        ("CYP3A4", "*1/*1", 1.0), ("CYP3A4", "*1/*22", 0.65), ("CYP3A4", "*22/*22", 0.3),
        ("ABCB1", "CC", 1.0), ("ABCB1", "CT", 0.75), ("ABCB1", "TT", 0.5),
    ]:
        p = phenotype(gene, diplotype)
        assert p.cpic is False
        assert p.abbreviation is None
        assert p.activity_score is None
        assert "metabolizer" not in p.phenotype
        assert p.activity == pytest.approx(activity)


def test_every_gene_has_a_full_table():
    for gene in GENES:
        n = len(ALLELE_FUNCTION[gene])
        assert len(PHENOTYPE_ACTIVITY[gene]) == n * (n + 1) // 2
        for diplotype, activity in PHENOTYPE_ACTIVITY[gene].items():
            assert phenotype(gene, diplotype).activity == activity >= 0


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gene, diplotype, fragments",
    [
        ("CYP2D6", "*1/*1", ["'CYP2D6'", "CYP2C19", "CYP2C9", "CYP3A5", "CYP3A4", "ABCB1"]),
        ("", "*1/*1", ["unknown gene", "CYP2C19"]),
        ("CYP2C19", "*1/*99", ["'*99'", "'*1/*99'", "*1, *2, *3, *17"]),
        ("CYP2C9", "*1/*4", ["'*4'", "*1, *2, *3"]),
        ("CYP3A5", "*1/*2", ["'*2'", "*1, *3"]),
        ("CYP2C19", "*1*2", ["'*1*2'", "'/'", "*1, *2, *3, *17"]),
        ("CYP2C19", "1/2/3", ["'1/2/3'", "*1, *2, *3, *17"]),
        ("CYP2C19", "*1/*2/*3", ["'*1/*2/*3'"]),
        ("CYP2C19", "", ["''", "'*1/*2'"]),
        ("CYP2C19", "CYP2C9*1/*2", ["CYP2C9", "CYP2C19"]),
        ("CYP2C19", None, ["None", "'*1/*2'"]),
        ("CYP2C19", 12, ["12"]),
        ("ABCB1", "CG", ["'G'", "C, T"]),
        ("ABCB1", "CTT", ["'CTT'", "'CC'"]),
    ],
)
def test_bad_diplotype_messages(gene, diplotype, fragments):
    with pytest.raises(ModelError) as info:
        phenotype(gene, diplotype)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, pkpd.ModelError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "fm, activity, fragment",
    [
        (1.2, 1.0, "fm must lie in [0, 1]; got 1.2"),
        (-0.1, 1.0, "got -0.1"),
        (np.nan, 1.0, "got nan"),
        ([0.2, 0.5, 1.5], 1.0, "got 1.5 (at index 2)"),
        (0.5, -0.2, "activity must be finite and >= 0; got -0.2"),
        (0.5, [1.0, np.inf], "got inf (at index 1)"),
        ("abc", 1.0, "fm must be a number"),
        ([0.1, 0.2, 0.3], [1.0, 0.5], "do not broadcast"),
    ],
)
def test_clearance_multiplier_validation(fm, activity, fragment):
    with pytest.raises(ModelError) as info:
        clearance_multiplier(fm, activity)
    assert fragment in str(info.value)


def test_clearance_multiplier_vectorised_and_scalar():
    assert isinstance(clearance_multiplier(0.5, 0.5), float)
    fm = np.array([[0.0], [0.5], [1.0]])
    act = np.array([0.0, 1.0, 2.0])
    out = clearance_multiplier(fm, act)
    assert out.shape == (3, 3)
    np.testing.assert_allclose(out, 1 - fm + fm * act)
    # inputs untouched
    np.testing.assert_array_equal(act, [0.0, 1.0, 2.0])
    assert clearance_multiplier_for("CYP2C19", "*17/*17", 0.5) == pytest.approx(1.25)
    np.testing.assert_allclose(clearance_multiplier_for("CYP2C9", "*3/*3", [0.0, 0.85]), [1.0, 0.15])


# ------------------------------------------------------------------------------------------------
# allele frequencies and Hardy-Weinberg sampling
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ancestry, pm", [("European", 0.02), ("east asians", 0.13), ("Oceanian", 0.57)])
def test_allele_frequencies_from_pm_prevalence(ancestry, pm):
    """q = sqrt(PM prevalence) under Hardy-Weinberg (PM prevalence from NCBI NBK379740 [S])."""
    freq = allele_frequencies("CYP2C19", ancestry)
    assert set(freq) == {"*1", "*2"}
    assert freq["*2"] == pytest.approx(math.sqrt(pm))
    assert sum(freq.values()) == pytest.approx(1.0)
    assert freq["*2"] ** 2 == pytest.approx(pm)


def test_allele_frequencies_bad_input():
    with pytest.raises(ModelError, match="no CYP2C19 allele frequencies for ancestry 'African'.*European"):
        allele_frequencies("CYP2C19", "African")
    with pytest.raises(ModelError, match="no allele frequency data for CYP2C9"):
        allele_frequencies("CYP2C9", "European")
    with pytest.raises(ModelError, match="unknown gene 'CYP9Z9'"):
        allele_frequencies("CYP9Z9", "European")
    with pytest.raises(ModelError, match="unknown gene"):
        sample_diplotypes("CYP9Z9", "European", 10, rng=0)
    with pytest.raises(ModelError, match="ancestry 'Martian'"):
        sample_diplotypes("CYP2C19", "Martian", 10, rng=0)


@pytest.mark.parametrize("ancestry", ["European", "East Asian", "Oceanian"])
def test_hardy_weinberg_sampling_matches_frequencies(ancestry):
    """n = 20000 seeded draws: genotype counts fit p^2 / 2pq / q^2 (chi-square, 2 df) and the allele
    frequency lies within 4 binomial standard errors of its input."""
    n = 20000
    freq = allele_frequencies("CYP2C19", ancestry)
    p, q = freq["*1"], freq["*2"]
    draws = sample_diplotypes("CYP2C19", ancestry, n, rng=np.random.default_rng(20240611))
    assert draws.shape == (n,)
    assert set(np.unique(draws)) <= {"*1/*1", "*1/*2", "*2/*2"}
    observed = np.array([(draws == d).sum() for d in ("*1/*1", "*1/*2", "*2/*2")])
    expected = n * np.array([p * p, 2 * p * q, q * q])
    chi2, pvalue = stats.chisquare(observed, expected)
    assert pvalue > 1e-3, (observed, expected)
    q_hat = (observed[1] + 2 * observed[2]) / (2 * n)
    assert abs(q_hat - q) < 4 * math.sqrt(q * (1 - q) / (2 * n))
    # PM prevalence recovered within 4 binomial SE
    pm = q * q
    assert abs(observed[2] / n - pm) < 4 * math.sqrt(pm * (1 - pm) / n)


def test_sampling_with_custom_frequencies_all_alleles():
    """A user mapping works for any gene; each of the 6 CYP2C9 genotype classes fits HW (chi-square)."""
    n = 20000
    freq = {"*1": 0.7, "*2": 0.2, "*3": 0.1}
    draws = sample_diplotypes("CYP2C9", freq, n, rng=7)
    classes = ["*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3"]
    observed = np.array([(draws == c).sum() for c in classes])
    assert observed.sum() == n
    f = freq
    expected = n * np.array([f["*1"] ** 2, 2 * f["*1"] * f["*2"], 2 * f["*1"] * f["*3"],
                             f["*2"] ** 2, 2 * f["*2"] * f["*3"], f["*3"] ** 2])
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    abcb1 = sample_diplotypes("ABCB1", {"C": 0.5, "T": 0.5}, 1000, rng=1)
    assert set(np.unique(abcb1)) == {"CC", "CT", "TT"}


def test_sampling_reproducible_and_validated():
    a = sample_diplotypes("CYP2C19", "East Asian", 50, rng=3)
    b = sample_diplotypes("CYP2C19", "East Asian", 50, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert sample_diplotypes("CYP2C19", "European", 0, rng=0).shape == (0,)
    for bad_n in (-1, 2.5, True, "10"):
        with pytest.raises(ModelError, match="n must be a non-negative integer"):
            sample_diplotypes("CYP2C19", "European", bad_n, rng=0)
    with pytest.raises(ModelError, match="sum to 1"):
        sample_diplotypes("CYP2C9", {"*1": 0.7, "*2": 0.2}, 10, rng=0)
    with pytest.raises(ModelError, match=r"unknown CYP2C9 allele '\*17'"):
        sample_diplotypes("CYP2C9", {"*1": 0.9, "*17": 0.1}, 10, rng=0)
    with pytest.raises(ModelError, match=r"must lie in \[0, 1\]"):
        sample_diplotypes("CYP2C9", {"*1": 1.2, "*2": -0.2}, 10, rng=0)


# ------------------------------------------------------------------------------------------------
# covariate column
# ------------------------------------------------------------------------------------------------


def test_genotype_covariate_vectorised():
    table = pd.DataFrame({"ID": [1, 2, 3, 4, 5], "G": ["*1/*1", "*2/*1", "*2/*2", "*17/*1", "*17 / *17"]})
    before = table.copy()
    act = genotype_covariate("CYP2C19", table["G"])
    np.testing.assert_allclose(act, [1.0, 0.35, 0.0, 1.25, 1.5])
    assert act.dtype == float and act.shape == (5,)
    pd.testing.assert_frame_equal(table, before)
    # list, 2-d array and scalar input
    np.testing.assert_allclose(genotype_covariate("CYP2C9", ["*1/*3", "*2/*2"]), [0.5, 0.5])
    grid = genotype_covariate("CYP3A5", np.array([["*1/*1", "*1/*3"], ["*3/*3", "*3/*1"]]))
    np.testing.assert_allclose(grid, [[1.0, 0.5], [0.0, 0.5]])
    assert genotype_covariate("ABCB1", "TT").shape == ()
    # consistent with phenotype() and the sampler
    draws = sample_diplotypes("CYP2C19", "Oceanian", 200, rng=5)
    np.testing.assert_array_equal(genotype_covariate("CYP2C19", draws),
                                  [phenotype("CYP2C19", d).activity for d in draws])
    # usable directly as a clearance multiplier column
    mult = clearance_multiplier(0.75, genotype_covariate("CYP2C19", table["G"]))
    np.testing.assert_allclose(mult, 0.25 + 0.75 * np.array([1.0, 0.35, 0.0, 1.25, 1.5]))


def test_genotype_covariate_bad_entry_position():
    with pytest.raises(ModelError, match=r"unknown CYP2C19 allele '\*99'.*at position 2"):
        genotype_covariate("CYP2C19", ["*1/*1", "*1/*2", "*1/*99"])
    with pytest.raises(ModelError, match="not nan.*at position 1|nan.*at position 1"):
        genotype_covariate("CYP2C19", pd.Series(["*1/*1", np.nan]))
    with pytest.raises(ModelError, match="not None.*at position 0"):
        genotype_covariate("CYP2C19", [None, "*1/*1"])
    with pytest.raises(ModelError, match="unknown gene"):
        genotype_covariate("CYP2D6", ["*1/*1"])
