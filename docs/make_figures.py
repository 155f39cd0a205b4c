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
    pkpd.plot.profile(model.simulate(maintenance, times, params), ax=ax, label="250 mg every 12 h")
    pkpd.plot.profile(model.simulate(loaded, times, params), ax=ax, doses=loaded,
                      label="500 mg loading dose, then 250 mg q12h")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "loading_dose.png", dpi=110)
    plt.close(fig)


def population():
    """Example 2: 200 virtual subjects, two-compartment IV infusion, 30 % IIV, median and 90 % band."""
    rng = np.random.default_rng(7)
    n = 200
    base = {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0}
    params = pd.DataFrame({k: v * np.exp(0.3 * rng.standard_normal(n)) for k, v in base.items()})
    params.insert(0, "ID", np.arange(1, n + 1))
    times = np.linspace(0, 48, 481)
    dose = pkpd.Infusion(1000, duration=1.0, ii=12, addl=3)
    result = TwoCompartment().simulate(dose, times, params)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    pkpd.plot.spaghetti(result, "CP", ax=ax, quantiles=(0.05, 0.5, 0.95), max_lines=60)
    fig.tight_layout()
    fig.savefig(OUT / "population.png", dpi=110)
    plt.close(fig)


def theophylline():
    """Example 3: the theophylline data with predictions at nlme's fm3Theo typical values (Pinheiro & Bates 2000)."""
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
    pkpd.plot.profile(pred, "CP", ax=ax, color="tab:blue", alpha=0.4, lw=1, label=None)
    ax.plot([], [], color="tab:blue", label="typical-value prediction per subject")
    ax.set_ylabel("theophylline (mg/L)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(OUT / "theophylline.png", dpi=110)
    plt.close(fig)


def status_epilepticus():
    """The main job: the typical patient at four delays (pkpd.plot.se_panel) and the demo's cohort figure."""
    import shutil
    import tempfile

    from pkpd.se import scenarios
    from pkpd.se.demo import DELAYS_MIN, run_demo, typical_patient

    courses = {f"midazolam at {d:g} min": typical_patient(d) for d in DELAYS_MIN}
    doses = {f"midazolam at {d:g} min": scenarios.treat(d) for d in DELAYS_MIN}
    axes = pkpd.plot.se_panel(courses, panels=("concentration", "receptors", "e_gaba", "effect", "activity"),
                              doses=doses, log_effect=True, colors=["#1b9e77", "#7570b3", "#d95f02", "#e7298a"])
    axes[0].set_ylim(0.5, 500)
    axes[3].set_ylim(1e-4, 1)
    fig = axes[0].figure
    fig.set_size_inches(8, 12)
    fig.suptitle("Status epilepticus: the same midazolam dose given at four delays (typical patient)")
    fig.savefig(OUT / "se_timecourse.png", dpi=110)
    plt.close(fig)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_demo(tmp)
        shutil.copy(result.files["cohort"], OUT / "se_cohort.png")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    loading_dose()
    population()
    theophylline()
    status_epilepticus()
    print(f"figures written to {OUT}")
