"""Generate the synthetic example datasets with :func:`pkpd.synthetic.cohort` (deterministic seeds).

Run from anywhere (paths are relative to this file)::

    python datasets/make_synthetic_datasets.py

It writes, for each dataset below, ``synthetic_<name>.csv`` (NONMEM-style data) and
``synthetic_<name>_truth.csv`` (ID, true individual parameters, etas, covariates) to ``datasets/`` and
identical copies to ``pkpd/io/data/`` (shipped inside the package), then prints their sha256
checksums (recorded in ``datasets/README.md``). ``tests/unit/test_synthetic.py`` regenerates them into a
temporary folder and checks the checksums against the shipped files.

Datasets (true values in ``datasets/README.md``, section "Synthetic datasets"):

* ``oral_1cmt`` (seed 101): 24 subjects, one-compartment oral, theophylline-like, 320 mg single dose,
  rich sampling, weight covariate, combined residual error;
* ``clobazam_cyp2c19`` (seed 205): 40 subjects, clobazam 10 mg twice daily at steady state, clobazam
  and N-desmethylclobazam (DVID 1 and 2), CYP2C19 diplotypes sampled from European frequencies,
  sparse sampling;
* ``oral_2cmt_blq`` (seed 303): 30 subjects, two-compartment oral, 100 mg single dose, rich sampling
  to 48 h, LLOQ at 20 % of the typical Cmax (M3 convention: BLQ = 1, DV = LLOQ).

DV are reported with 4 significant digits (``digits=4``).
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import pkpd
import pkpd.synthetic as synthetic
from pkpd import drugs, genetics
from pkpd.fitting.residual import CombinedError, ProportionalError
from pkpd.models import OneCompartmentOral, TwoCompartmentOral

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PACKAGE_DATA = REPO / "pkpd" / "io" / "data"

#: Seeds of the datasets. clobazam_cyp2c19: with European frequencies (PM prevalence 2 %) 40 subjects hold
#: 0.8 poor metabolizers on average, and seeds 202-204 drew none; 205 is the first seed >= 202 whose
#: cohort has one (31 NM, 8 IM, 1 PM), so the dataset shows the genotype effect.
SEEDS = {"oral_1cmt": 101, "clobazam_cyp2c19": 205, "oral_2cmt_blq": 303}
DIGITS = 4


# ---------------------------------------------------------------------------------------------
# 1. one-compartment oral, theophylline-like
# ---------------------------------------------------------------------------------------------
def body_weight(rng, n):
    """WT ~ N(70, 12^2) kg, clipped to [45, 110] and rounded to 0.1 kg."""
    return pd.DataFrame({"WT": np.round(np.clip(rng.normal(70.0, 12.0, n), 45.0, 110.0), 1)})


def oral_1cmt() -> synthetic.SyntheticCohort:
    """24 subjects, 320 mg oral, CL 2.8 L/h x (WT/70)^0.75, V 32 L x WT/70, KA 1.5 /h; omega 0.3/0.3/0.4."""
    return synthetic.cohort(
        OneCompartmentOral(), pkpd.Bolus(320.0, cmt="DEPOT"), 24,
        params={"CL": 2.8, "V": 32.0, "KA": 1.5},
        iiv={"CL": 0.3, "V": 0.3, "KA": 0.4},
        error=CombinedError(sd=0.1, cv=0.1),
        design="rich",
        covariates=body_weight,
        covariate_model={"CL": lambda row: (row.WT / 70.0) ** 0.75, "V": lambda row: row.WT / 70.0},
        seed=SEEDS["oral_1cmt"], digits=DIGITS,
    )


# ---------------------------------------------------------------------------------------------
# 2. clobazam + N-desmethylclobazam, CYP2C19 genotypes
# ---------------------------------------------------------------------------------------------
def cyp2c19_european(rng, n):
    """CYP2C19 diplotypes under Hardy-Weinberg from the European frequencies of pkpd.genetics
    (PM prevalence about 2 % in Europeans: Dean 2012, Diazepam Therapy and CYP2C19 Genotype, NCBI Medical Genetics Summaries NBK379740), with phenotype, relative activity and a PM flag."""
    diplotypes = genetics.sample_diplotypes("CYP2C19", "European", n, rng=rng)
    phen = [genetics.phenotype("CYP2C19", d) for d in diplotypes]
    return pd.DataFrame({
        "CYP2C19": diplotypes.astype(object),
        "CYP2C19_PHENO": [p.abbreviation for p in phen],
        "CYP2C19_ACT": genetics.genotype_covariate("CYP2C19", diplotypes),
        "PM": np.array([p.abbreviation == "PM" for p in phen], dtype=np.int64),
    })


#: IIV of the clobazam cohort (omega, SD of eta). N-desmethylclobazam formation clearance shares the
#: eta of clobazam clearance (correlation 1): the fraction of clobazam converted stays 80 %.
CLOBAZAM_OMEGA = {"CLB.CL": 0.3, "NCLB.CLF": 0.3, "CLB.V": 0.2, "CLB.KA": 0.5, "NCLB.CL": 0.3}


def clobazam_omega() -> pd.DataFrame:
    names = list(CLOBAZAM_OMEGA)
    sd = np.array([CLOBAZAM_OMEGA[k] for k in names])
    corr = np.eye(len(names))
    corr[0, 1] = corr[1, 0] = 1.0
    return pd.DataFrame(corr * np.outer(sd, sd), index=names, columns=names)


def clobazam_cyp2c19() -> synthetic.SyntheticCohort:
    """40 subjects, clobazam 10 mg every 12 h at steady state, CLB.CP (DVID 1) and NCLB.CP (DVID 2)."""
    clb = drugs.clobazam()
    model = pkpd.compose(*clb.components())
    return synthetic.cohort(
        model, clb.dose(10.0, "oral", ii=12.0, ss=1), 40,
        params=dict(clb.params),
        iiv=clobazam_omega(),
        error=ProportionalError(0.15),
        design="sparse",
        covariates=cyp2c19_european,
        # as drugs.clobazam().with_genotype("CYP2C19", diplotype): ACT_CYP2C19 = phenotype activity
        covariate_model={"NCLB_LIVER.ACT_CYP2C19": lambda row: row.CYP2C19_ACT},
        output=("CLB.CP", "NCLB.CP"),
        seed=SEEDS["clobazam_cyp2c19"], digits=DIGITS,
    )


# ---------------------------------------------------------------------------------------------
# 3. two-compartment oral with BLQ data
# ---------------------------------------------------------------------------------------------
ORAL_2CMT = {"CL": 4.0, "V1": 25.0, "Q": 8.0, "V2": 60.0, "KA": 1.2}
ORAL_2CMT_DOSE = 100.0


def typical_cmax_2cmt() -> float:
    """Cmax of the typical subject (mg/L), on a 0.001-h grid over 0-12 h."""
    grid = np.arange(0.0, 12.0, 0.001)
    cp = TwoCompartmentOral().simulate(pkpd.Bolus(ORAL_2CMT_DOSE, cmt="DEPOT"), grid, ORAL_2CMT, states=False)["CP"]
    return float(np.max(cp))


def oral_2cmt_lloq() -> float:
    """20 % of the typical Cmax, rounded to 2 significant digits."""
    return float(f"{0.2 * typical_cmax_2cmt():.2g}")


def oral_2cmt_blq() -> synthetic.SyntheticCohort:
    """30 subjects, 100 mg oral, rich to 48 h, proportional 15 % error, LLOQ = 20 % of typical Cmax."""
    return synthetic.cohort(
        TwoCompartmentOral(), pkpd.Bolus(ORAL_2CMT_DOSE, cmt="DEPOT"), 30,
        params=ORAL_2CMT,
        iiv={"CL": 0.3, "V1": 0.25, "KA": 0.4},
        error=ProportionalError(0.15),
        design=list(synthetic.RICH_TIMES) + [36.0, 48.0],
        lloq=oral_2cmt_lloq(),
        seed=SEEDS["oral_2cmt_blq"], digits=DIGITS,
    )


DATASETS = {"oral_1cmt": oral_1cmt, "clobazam_cyp2c19": clobazam_cyp2c19, "oral_2cmt_blq": oral_2cmt_blq}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write(folder: Path) -> dict[str, str]:
    """Write every dataset (data + truth) into ``folder``; return {file name: sha256}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, make in DATASETS.items():
        for path in make().to_csv(folder / f"synthetic_{name}.csv"):
            sums[path.name] = sha256(path)
    return sums


def main(argv=None) -> int:
    sums = write(HERE)
    PACKAGE_DATA.mkdir(parents=True, exist_ok=True)
    for name in sums:
        shutil.copyfile(HERE / name, PACKAGE_DATA / name)
    for name, digest in sums.items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
