"""Regenerate the README figures in docs/img/ (run from the repository root: python docs/make_figures.py)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import pkpd  # noqa: E402
from pkpd.models import OneCompartmentOral, TwoCompartment  # noqa: E402

OUT = Path(__file__).parent / "img"


def loading_dose():
    """Example 1: loading dose + maintenance versus maintenance alone (one-compartment oral)."""
    model = OneCompartmentOral()
    params = {"CL": 3.0, "V": 30.0, "KA": 1.5}
    times = np.linspace(0, 72, 721)
    maintenance = pkpd.Bolus(250, time=0, cmt="DEPOT", ii=12, addl=5)
    loaded = pkpd.Bolus(500, cmt="DEPOT") + pkpd.Bolus(250, time=12, cmt="DEPOT", ii=12, addl=4)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(times, model.simulate(maintenance, times, params)["CP"], label="250 mg every 12 h")
    ax.plot(times, model.simulate(loaded, times, params)["CP"], label="500 mg loading dose, then 250 mg q12h")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("CP (mg/L)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "loading_dose.png", dpi=110)


def population():
    """Example 2: 200 virtual subjects, two-compartment IV infusion, 30 % IIV, median and 90 % band."""
    rng = np.random.default_rng(7)
    n = 200
    base = {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0}
    params = pd.DataFrame({k: v * np.exp(0.3 * rng.standard_normal(n)) for k, v in base.items()})
    params.insert(0, "ID", np.arange(1, n + 1))
    times = np.linspace(0, 48, 481)
    dose = pkpd.Infusion(1000, duration=1.0, ii=12, addl=3)
    cp = TwoCompartment().simulate(dose, times, params)["CP"].reshape(n, -1)
    lo, med, hi = np.percentile(cp, [5, 50, 95], axis=0)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(times, lo, hi, alpha=0.3, label="5th-95th percentile")
    ax.plot(times, med, label="median")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("CP (mg/L)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "population.png", dpi=110)


def theophylline():
    """Example 3: the theophylline data with predictions at nlme's fm3Theo typical values (REFERENCE.md §8.1)."""
    data = pkpd.load_dataset("theophylline")
    events = data.events
    weights = events.groupby("ID")["WT"].first()
    # fm3Theo fixed effects: lKe -2.45470, lKa 0.46573, lCl -3.22722 (per kg); CL and V scaled by weight
    ke, ka, cl_kg = np.exp(-2.45470), np.exp(0.46573), np.exp(-3.22722)
    params = pd.DataFrame({"ID": weights.index, "CL": cl_kg * weights.values, "V": cl_kg / ke * weights.values,
                           "KA": ka})
    # add prediction-only records (EVID 2) on a fine grid to each subject's doses
    grid = np.linspace(0, 25, 251)
    doses = data.doses[["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"]]
    fine = pd.DataFrame({"ID": np.repeat(weights.index, grid.size), "TIME": np.tile(grid, len(weights)), "EVID": 2,
                         "AMT": 0.0, "RATE": 0.0, "CMT": 0, "II": 0.0, "ADDL": 0, "SS": 0})
    table = pd.concat([doses, fine], ignore_index=True).sort_values(["ID", "TIME", "EVID"], kind="stable")
    pred = pkpd.simulate(OneCompartmentOral(), table, params)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    obs = data.observations
    ax.scatter(obs["TIME"], obs["DV"], s=10, color="k", label="observed (12 subjects)")
    frame = pred.to_frame()
    for _, g in frame.groupby("ID"):
        ax.plot(g["TIME"], g["CP"], color="tab:blue", alpha=0.4, lw=1)
    ax.plot([], [], color="tab:blue", label="typical-value prediction per subject")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("theophylline (mg/L)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "theophylline.png", dpi=110)


def status_epilepticus():
    """The main job: the pkpd demo figures (typical patient and cohort by treatment delay)."""
    import shutil
    import tempfile

    from pkpd.demo import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        result = run_demo(tmp)
        shutil.copy(result.files["timecourse"], OUT / "se_timecourse.png")
        shutil.copy(result.files["cohort"], OUT / "se_cohort.png")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    loading_dose()
    population()
    theophylline()
    status_epilepticus()
    print(f"figures written to {OUT}")
