"""Virtual populations: correlated demographics and genotypes, reproducible by seed and chunk-independent.

Each subject's draws come from the random stream of its block of 1024 subjects (``[seed, block]``), always
consumed in the same order, so the first ``k`` subjects are the same whatever ``n`` is: trials can stream a
population chunk by chunk. Truncated distributions are drawn by the inverse CDF (no redraws).

Default adult demographics [M] (approximate US adult summaries of the NHANES kind, rounded; no primary
source recorded): age 45 ± 15 years in [18, 90]; height 175.5 ± 7.5 cm (men), 162 ± 7 cm (women); weight
log-normal with geometric means 86 kg (men) and 74 kg (women), log-SD 0.20 and 0.23, in [40, 200] kg;
correlation of height and log-weight 0.45 within sex.

Genotypes: CYP2C19 from the ancestry's allele frequencies (:func:`pkpd.physiology.genetics.allele_frequencies`,
from the PM prevalence of NBK379740: no-function ``*2`` vs functional ``*1``), others from frequencies the caller gives
(``genotypes={"CYP2C9": {"*1": 0.8, "*2": 0.12, "*3": 0.08}}``), under Hardy-Weinberg equilibrium.

Examples
--------
>>> import pkpd
>>> pop = pkpd.Population.virtual(1000, ancestry="East Asian", seed=1)
>>> list(pop.covariates.columns)
['ID', 'SEX', 'AGE', 'HT', 'WT', 'BMI', 'CYP2C19', 'CYP2C19_PHENOTYPE']
>>> round(float((pop.covariates["CYP2C19_PHENOTYPE"] == "PM").mean()), 2)      # 13 % expected
0.13
>>> pkpd.Population.virtual(10, seed=1).covariates.equals(pkpd.Population.virtual(20, seed=1).covariates.head(10))
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._internal.lazy import special
from ..errors import ModelError, ParameterError
from ..physiology.genetics import allele_frequencies, phenotype

__all__ = ["Population", "BLOCK", "DEMOGRAPHICS"]

#: Subjects per random stream: subject i draws from stream ``[seed, i // BLOCK]``.
BLOCK = 1024

#: Default demographics [M], by sex: height mean/SD (cm), geometric mean weight (kg) and log-SD.
DEMOGRAPHICS = {"M": {"HT": (175.5, 7.5), "WT": (86.0, 0.20)}, "F": {"HT": (162.0, 7.0), "WT": (74.0, 0.23)}}
DEFAULT_AGE = (45.0, 15.0, 18.0, 90.0)
WEIGHT_RANGE = (40.0, 200.0)
HEIGHT_LOGWEIGHT_CORRELATION = 0.45


def _range(name, spec):
    try:
        mean, sd, lower, upper = (float(v) for v in spec)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be (mean, sd, lower, upper), got {spec!r}") from None
    if not all(math.isfinite(v) for v in (mean, sd, lower, upper)) or sd <= 0 or lower >= upper:
        raise ParameterError(f"{name} = {spec!r}: need a finite mean, sd > 0 and lower < upper")
    return mean, sd, lower, upper


def _truncated(u, mean, sd, lower, upper):
    """Inverse CDF of a normal truncated to [lower, upper] at uniforms ``u``."""
    a, b = special.ndtr((lower - mean) / sd), special.ndtr((upper - mean) / sd)
    return mean + sd * special.ndtri(a + u * (b - a))


@dataclass(frozen=True)
class Population:
    """A virtual population: one row of covariates per subject.

    Attributes
    ----------
    covariates : DataFrame
        ``ID`` (1..n), ``SEX`` ("F"/"M"), ``AGE`` (years), ``HT`` (cm), ``WT`` (kg), ``BMI`` (kg/m²), and per gene
        the diplotype (``CYP2C19``) and the CPIC phenotype abbreviation (``CYP2C19_PHENOTYPE``).
    ancestry : str or None
    seed : int
        The seed that reproduces it (drawn and recorded when none was given).
    """

    covariates: pd.DataFrame
    ancestry: str | None = None
    seed: int | None = None

    def __len__(self) -> int:
        return len(self.covariates)

    def to_frame(self) -> pd.DataFrame:
        return self.covariates.copy()

    def chunk(self, start: int, stop: int) -> "Population":
        """The subjects in rows ``start:stop`` (for streaming)."""
        return Population(self.covariates.iloc[start:stop].reset_index(drop=True), self.ancestry, self.seed)

    def describe(self) -> pd.DataFrame:
        """Means, SDs and bounds of the continuous covariates, and the fraction female."""
        cont = self.covariates[["AGE", "HT", "WT", "BMI"]]
        out = cont.agg(["mean", "std", "min", "max"]).T
        out.loc["female_fraction", "mean"] = float((self.covariates["SEX"] == "F").mean())
        return out

    def _repr_html_(self) -> str:
        return (f"<b>Virtual population</b>: {len(self)} subjects, ancestry {self.ancestry}, seed {self.seed}"
                + self.describe().to_html(float_format=lambda v: f"{v:.3g}", na_rep=""))

    @classmethod
    def virtual(cls, n: int, *, ancestry: str | None = "European", age=DEFAULT_AGE, weight=None,
                sex: float = 0.5, genotypes: Mapping[str, Mapping[str, float]] | None = None,
                seed: int | None = None) -> "Population":
        """Draw ``n`` virtual adults.

        Parameters
        ----------
        n : int
            Number of subjects (>= 1).
        ancestry : str or None
            Ancestry group for genes with frequency data (CYP2C19: ``"European"``, ``"East Asian"``,
            ``"Oceanian"``); None draws no ancestry-based genotype.
        age : (mean, sd, lower, upper)
            Truncated normal (years).
        weight : (mean, sd, lower, upper), optional
            Replace the default sex-specific log-normal weight by a truncated normal (kg), keeping its
            correlation with height.
        sex : float
            Fraction female, in [0, 1].
        genotypes : mapping, optional
            Gene -> {allele: frequency} for genes to draw (overrides the ancestry's frequencies).
        seed : int, optional

        Returns
        -------
        Population
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n must be a positive integer, got {n!r}")
        if not (isinstance(sex, (int, float)) and 0.0 <= sex <= 1.0):
            raise ParameterError(f"sex is the fraction female and must be in [0, 1], got {sex!r}")
        age = _range("age", age)
        weight = None if weight is None else _range("weight", weight)
        genes = cls._gene_frequencies(ancestry, genotypes)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        blocks = [cls._block(seed, b, age, weight, sex, genes) for b in range((n + BLOCK - 1) // BLOCK)]
        frame = pd.concat(blocks, ignore_index=True).iloc[:n]
        frame.insert(0, "ID", np.arange(1, n + 1))
        return cls(frame.reset_index(drop=True), ancestry, seed)

    @staticmethod
    def _gene_frequencies(ancestry, genotypes) -> dict:
        genes = {}
        if ancestry is not None:
            genes["CYP2C19"] = allele_frequencies("CYP2C19", ancestry)
        for gene, freq in dict(genotypes or {}).items():
            if not isinstance(freq, Mapping) or not freq:
                raise ModelError(f"genotypes[{gene!r}] must map alleles to frequencies, got {freq!r}")
            values = np.array([float(v) for v in freq.values()])
            if np.any(values < 0) or abs(values.sum() - 1.0) > 1e-6:
                raise ModelError(f"allele frequencies of {gene} must be >= 0 and sum to 1, got {dict(freq)} "
                                 f"(sum {values.sum():.6g})")
            phenotype(gene, f"{next(iter(freq))}/{next(iter(freq))}")      # unknown gene/allele -> ModelError
            genes[gene] = dict(freq)
        return genes

    @staticmethod
    def _block(seed, block, age, weight, sex, genes) -> pd.DataFrame:
        rng = np.random.default_rng([seed, block])
        u = rng.random((BLOCK, 4))                  # sex, age, height, weight: always drawn, in this order
        female = u[:, 0] < sex
        ages = _truncated(u[:, 1], *age)
        z_ht = special.ndtri(u[:, 2])
        rho = HEIGHT_LOGWEIGHT_CORRELATION
        ht_mean = np.where(female, DEMOGRAPHICS["F"]["HT"][0], DEMOGRAPHICS["M"]["HT"][0])
        ht_sd = np.where(female, DEMOGRAPHICS["F"]["HT"][1], DEMOGRAPHICS["M"]["HT"][1])
        heights = ht_mean + ht_sd * z_ht
        # weight | height: the conditional normal, truncated by the inverse CDF of the remaining uniform
        if weight is None:
            mu = np.log(np.where(female, DEMOGRAPHICS["F"]["WT"][0], DEMOGRAPHICS["M"]["WT"][0]))
            s = np.where(female, DEMOGRAPHICS["F"]["WT"][1], DEMOGRAPHICS["M"]["WT"][1])
            lo, hi = np.log(WEIGHT_RANGE[0]), np.log(WEIGHT_RANGE[1])
            weights = np.exp(_truncated(u[:, 3], mu + rho * s * z_ht, s * math.sqrt(1 - rho**2), lo, hi))
        else:
            mean, sd, lo, hi = weight
            weights = _truncated(u[:, 3], mean + rho * sd * z_ht, sd * math.sqrt(1 - rho**2), lo, hi)
        frame = pd.DataFrame({"SEX": np.where(female, "F", "M"), "AGE": ages, "HT": heights, "WT": weights,
                              "BMI": weights / (heights / 100) ** 2})
        for gene, freq in genes.items():                 # two alleles per subject from the gene's own stream
            g_rng = np.random.default_rng([seed, block, 1 + sorted(genes).index(gene)])
            alleles, p = list(freq), np.cumsum(list(freq.values()))
            pick = np.minimum(np.searchsorted(p / p[-1], g_rng.random((BLOCK, 2))), len(alleles) - 1)
            cache: dict[Any, Any] = {}
            diplo, pheno = [], []
            for a, b in pick:
                key = (min(a, b), max(a, b))
                if key not in cache:
                    ph = phenotype(gene, f"{alleles[key[0]]}/{alleles[key[1]]}")
                    cache[key] = (ph.diplotype, ph.abbreviation)
                diplo.append(cache[key][0])
                pheno.append(cache[key][1])
            frame[gene] = diplo
            frame[f"{gene}_PHENOTYPE"] = pheno
        return frame
