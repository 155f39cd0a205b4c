"""Virtual populations reproduce their inputs (issue 7, criterion 1), n = 10 000."""

import math

import numpy as np
import pytest
from scipy.stats import chisquare

import pkpd
from pkpd.physiology.genetics import allele_frequencies, phenotype
from pkpd.population.virtual import DEMOGRAPHICS, HEIGHT_LOGWEIGHT_CORRELATION

N = 10_000
CYP2C9 = {"*1": 0.80, "*2": 0.12, "*3": 0.08}            # caller-given frequencies (illustrative)


@pytest.fixture(scope="module")
def pop():
    return pkpd.Population.virtual(N, ancestry="East Asian", genotypes={"CYP2C9": CYP2C9}, seed=11).covariates


def hardy_weinberg(freq, gene):
    """Expected diplotype frequencies p_a^2 and 2 p_a p_b, keyed by the normalised diplotype."""
    alleles = list(freq)
    out = {}
    for i, a in enumerate(alleles):
        for b in alleles[i:]:
            key = phenotype(gene, f"{a}/{b}").diplotype
            out[key] = freq[a] ** 2 if a == b else 2 * freq[a] * freq[b]
    return out


@pytest.mark.parametrize("gene, freq", [("CYP2C19", allele_frequencies("CYP2C19", "East Asian")),
                                        ("CYP2C9", CYP2C9)])
def test_diplotypes_follow_hardy_weinberg_and_a_wrong_table_is_rejected(pop, gene, freq):
    expected = hardy_weinberg(freq, gene)
    counts = pop[gene].value_counts()
    observed = np.array([counts.get(k, 0) for k in expected])
    assert observed.sum() == N
    p = chisquare(observed, N * np.array(list(expected.values()))).pvalue
    assert p > 1e-3, p
    wrong = dict(zip(freq, np.roll(list(freq.values()), 1)))            # the frequencies swapped around
    p_wrong = chisquare(observed, N * np.array([hardy_weinberg(wrong, gene)[k] for k in expected])).pvalue
    assert p_wrong < 1e-6


@pytest.mark.calibration_check
def test_calibration_check_phenotype_frequencies_match_the_ancestry(pop):
    """Calibration check: the East Asian CYP2C19 no-function allele frequency is sqrt(0.13), set from this PM
    prevalence (NBK379740); the IM fraction 2q(1 - q) is its Hardy-Weinberg consequence.
    CYP2C19 poor metabolizers 13 % in East Asians (NCBI NBK379740 [S]): within 3 binomial SEs."""
    pm = float((pop["CYP2C19_PHENOTYPE"] == "PM").mean())
    assert abs(pm - 0.13) < 3 * math.sqrt(0.13 * 0.87 / N)
    q = allele_frequencies("CYP2C19", "East Asian")["*2"]
    im = float((pop["CYP2C19_PHENOTYPE"] == "IM").mean())
    assert abs(im - 2 * q * (1 - q)) < 3 * math.sqrt(0.47 * 0.53 / N)


def test_demographics_means_sds_and_correlations(pop):
    female = pop["SEX"] == "F"
    assert abs(female.mean() - 0.5) < 3 * math.sqrt(0.25 / N)
    for sex, rows in (("F", pop[female]), ("M", pop[~female])):
        n = len(rows)
        mean, sd = DEMOGRAPHICS[sex]["HT"]
        assert abs(rows["HT"].mean() - mean) < 3 * sd / math.sqrt(n)
        assert rows["HT"].std() == pytest.approx(sd, rel=0.05)
        gm, log_sd = DEMOGRAPHICS[sex]["WT"]
        assert abs(np.log(rows["WT"]).mean() - math.log(gm)) < 3 * log_sd / math.sqrt(n) + 0.002
        r = np.corrcoef(rows["HT"], np.log(rows["WT"]))[0, 1]
        assert abs(r - HEIGHT_LOGWEIGHT_CORRELATION) < 0.03
    # age: truncated normal 45 +- 15 in [18, 90]; its mean is 45 + 15 (phi(a) - phi(b)) / (Phi(b) - Phi(a))
    from scipy.stats import truncnorm
    dist = truncnorm(-27 / 15, 45 / 15, loc=45, scale=15)
    assert abs(pop["AGE"].mean() - dist.mean()) < 3 * dist.std() / math.sqrt(N)
    assert pop["AGE"].between(18, 90).all() and pop["WT"].between(40, 200).all()
    np.testing.assert_allclose(pop["BMI"], pop["WT"] / (pop["HT"] / 100) ** 2)


def test_weight_override_keeps_its_moments():
    cov = pkpd.Population.virtual(N, weight=(70, 12, 45, 120), seed=3).covariates
    from scipy.stats import truncnorm
    dist = truncnorm(-25 / 12, 50 / 12, loc=70, scale=12)
    assert abs(cov["WT"].mean() - dist.mean()) < 3 * dist.std() / math.sqrt(N)
    assert cov["WT"].std() == pytest.approx(dist.std(), rel=0.05)
    assert cov["WT"].between(45, 120).all()
