"""Derive the NONMEM-style public datasets from R's ``Theoph`` and ``Indometh`` tables.

Run from the repository root (or anywhere: paths are relative to this file)::

    python datasets/make_public_datasets.py [--source datasets/raw]

It reads ``Theoph.csv`` and ``Indometh.csv`` (exported unchanged from R's base ``datasets``
package) and writes ``theophylline.csv`` and ``indometacin.csv`` to both ``datasets/`` and
``pkpd/io/data/`` (the copies shipped inside the package for :func:`pkpd.io.load_dataset`), then
prints their sha256 checksums (recorded in ``datasets/README.md``). Only pandas is needed.

Derivation (see datasets/README.md):

* theophylline: one dose record per subject at TIME 0 (EVID 1, MDV 1, CMT 1 = DEPOT,
  AMT = Dose [mg/kg] x Wt [kg] in mg, rounded to 6 decimals to drop float noise), placed *before*
  the subject's samples; every sample (including the measured pre-dose value at TIME 0) is an
  observation (EVID 0, MDV 0, AMT 0, CMT 2 = CENTRAL, DV = conc in mg/L). Covariates WT (kg) and
  DOSE_MGKG (mg/kg) on every record. Subjects are numbered as in R (1-12) and sorted by ID,
  samples keep their order.
* indometacin: one 25 mg IV bolus per subject at TIME 0 into CMT 1 = CENTRAL (EVID 1, MDV 1),
  then the samples as observations (EVID 0, MDV 0, CMT 1, DV = conc in mcg/mL = mg/L).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COLUMNS = ["ID", "TIME", "EVID", "AMT", "CMT", "DV", "MDV"]


def _with_doses(obs: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """Interleave one dose record per subject before that subject's observations (stable order)."""
    obs = obs.assign(_order=1, _seq=range(len(obs)))
    doses = doses.assign(_order=0, _seq=range(len(doses)))
    both = pd.concat([doses, obs], ignore_index=True)
    both = both.sort_values(["ID", "_order", "_seq"], kind="stable")
    return both.drop(columns=["_order", "_seq"]).reset_index(drop=True)


def theophylline(source: Path) -> pd.DataFrame:
    raw = pd.read_csv(source / "Theoph.csv")
    raw["ID"] = raw["Subject"].astype(int)
    raw = raw.sort_values("ID", kind="stable")
    obs = pd.DataFrame({
        "ID": raw["ID"], "TIME": raw["Time"], "EVID": 0, "AMT": 0.0, "CMT": 2, "DV": raw["conc"], "MDV": 0,
        "WT": raw["Wt"], "DOSE_MGKG": raw["Dose"],
    })
    first = raw.groupby("ID", sort=True).first().reset_index()
    doses = pd.DataFrame({
        "ID": first["ID"], "TIME": 0.0, "EVID": 1, "AMT": (first["Dose"] * first["Wt"]).round(6), "CMT": 1,
        "DV": float("nan"), "MDV": 1, "WT": first["Wt"], "DOSE_MGKG": first["Dose"],
    })
    return _with_doses(obs, doses)[COLUMNS + ["WT", "DOSE_MGKG"]]


def indometacin(source: Path) -> pd.DataFrame:
    raw = pd.read_csv(source / "Indometh.csv")
    raw["ID"] = raw["Subject"].astype(int)
    raw = raw.sort_values("ID", kind="stable")
    obs = pd.DataFrame({
        "ID": raw["ID"], "TIME": raw["time"], "EVID": 0, "AMT": 0.0, "CMT": 1, "DV": raw["conc"], "MDV": 0,
    })
    ids = sorted(raw["ID"].unique())
    doses = pd.DataFrame({"ID": ids, "TIME": 0.0, "EVID": 1, "AMT": 25.0, "CMT": 1, "DV": float("nan"), "MDV": 1})
    return _with_doses(obs, doses)[COLUMNS]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO / "datasets" / "raw",
                        help="folder with Theoph.csv and Indometh.csv (default: datasets/raw of the repository)")
    args = parser.parse_args(argv)
    targets = [HERE, REPO / "pkpd" / "io" / "data"]
    for name, make in (("theophylline", theophylline), ("indometacin", indometacin)):
        frame = make(args.source)
        for folder in targets:
            folder.mkdir(parents=True, exist_ok=True)
            frame.to_csv(folder / f"{name}.csv", index=False, na_rep=".", lineterminator="\n")
        digest = hashlib.sha256((HERE / f"{name}.csv").read_bytes()).hexdigest()
        print(f"{name}.csv  {len(frame)} records  sha256 {digest}")


if __name__ == "__main__":
    main()
