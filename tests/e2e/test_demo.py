"""End-to-end: ``pkpd demo`` (issue 4, criterion 6) writes its seven outputs, and the numbers in ``summary.csv``
and ``escalation.csv`` are those of a direct simulation with :mod:`pkpd.se.scenarios`; the report explains each
panel from those tables; its options (drug, dose, delays)."""

import gc
import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from pkpd.se import demo
from pkpd.se import scenarios
from pkpd.cli import main
from pkpd.se import defaults as SE
from pkpd.trials import wilson

N = 200
FIGURES = ("timecourse.png", "cohort.png", "escalation.png", "brain.png")
OUTCOMES = ("terminated", "respiratory_depression", "paradoxical")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "pkpd-demo"
    thresholds = gc.get_threshold()
    assert main(["demo", "--out", str(out), "--quiet", "--n", str(N)]) == 0
    assert gc.get_threshold() == thresholds            # deferred full collections while it ran, not after
    return out


@pytest.fixture(scope="module")
def summary(demo_dir):
    return pd.read_csv(demo_dir / "summary.csv")


@pytest.fixture(scope="module")
def escalation(demo_dir):
    return pd.read_csv(demo_dir / "escalation.csv")


def _check_intervals(frame, column, n):
    """Every fraction in [0, 1] inside its 95 % Wilson interval, which is that of ``round(p n)`` of ``n``."""
    for p, low, high in frame[[column, f"{column}_low", f"{column}_high"]].itertuples(index=False):
        assert 0.0 <= low <= p <= high <= 1.0, (column, p, low, high)
        assert (low, high) == pytest.approx(wilson(round(p * n), n), rel=1e-9, abs=1e-12), column
        assert high - low < 0.2, column


def test_demo_writes_the_seven_outputs(demo_dir):
    for name in (*FIGURES, "summary.csv", "escalation.csv", "report.md"):
        path = demo_dir / name
        assert path.is_file() and path.stat().st_size > 500, name
    for name in FIGURES:
        assert (demo_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    report = (demo_dir / "report.md").read_text(encoding="utf-8")
    for line in ("### The typical patient (`timecourse.png`)", "### The virtual cohort (`cohort.png`)",
                 "### Late dose escalation (`escalation.png`, `escalation.csv`)", "### The brain (`brain.png`)",
                 "## Why", "## How this was computed", "![typical patient](timecourse.png)",
                 "![virtual cohort](cohort.png)", "![dose escalation](escalation.png)", "![brain](brain.png)"):
        assert line in report, line
    assert "| 30 |" in report
    for words in ("a bigger dose cannot buy them back", "paradoxical worsening", "buys respiratory depression",
                  "unbound concentration in brain extracellular fluid", "P-gp", "[C]", "`pkpd/se/defaults.py`"):
        assert words in report, words
    assert "EC50" not in report and "Emax" not in report
    assert all(f"`{column}`" in report for column in (*demo.SUMMARY_COLUMNS, *demo.ESCALATION_COLUMNS))


def test_summary_matches_a_direct_simulation(summary):
    assert list(summary.columns) == list(demo.SUMMARY_COLUMNS)
    assert summary["delay_min"].tolist() == [5.0, 15.0, 30.0, 60.0]
    for _, row in summary.iterrows():
        course = scenarios.simulate_patient(row.delay_min, ("midazolam",))
        at_dose = course[course["time_min"] == row.delay_min].iloc[0]
        assert row.plasma_cmax_ng_ml == pytest.approx(1000 * course["MDZ.CP"].max(), rel=1e-9)
        assert row.brain_unbound_cmax_ng_ml == pytest.approx(1000 * course["MDZ_BRAIN.CU"].max(), rel=1e-9)
        assert row.surface_gabaa_at_dose == pytest.approx(at_dose["GABAA.SURFACE_A235"], rel=1e-9)
        assert row.e_gaba_at_dose_mv == pytest.approx(at_dose["CHLORIDE.E_GABA"], rel=1e-9)
        assert row.max_effect_at_dose == row.surface_gabaa_at_dose
        assert row.f_gaba_at_dose == pytest.approx(at_dose["SEIZURE.F_GABA"], rel=1e-9)
        assert row.peak_effect == pytest.approx(course["BZD.EFFECT"].max(), rel=1e-9)
        # the ceiling: the benzodiazepine effect never exceeds the surface fraction
        assert (course["BZD.EFFECT"] <= course["GABAA.SURFACE_A235"] + 1e-12).all()
        stopped = course["SEIZURE.ACTIVITY"].iloc[-1] < 0.1
        assert bool(row.typical_terminated) == stopped
        assert math.isnan(row.time_to_termination_min) != stopped
    # receptors and the GABA-A factor at the dose fall with every minute of untreated seizure
    assert np.all(np.diff(summary["surface_gabaa_at_dose"]) < 0)
    assert np.all(np.diff(summary["f_gaba_at_dose"]) < 0)
    assert summary["f_gaba_at_dose"].iloc[0] > 0


def test_brain_columns_match_a_long_simulation(summary):
    row = summary.set_index("delay_min").loc[60.0]
    course = scenarios.simulate_patient(60.0, ("midazolam",), t_end_min=60 * demo.BRAIN_WINDOW_H, step_min=15.0)
    peak = course["BBB.EXPRESSION"].idxmax()
    assert row.pgp_expression_peak == pytest.approx(course["BBB.EXPRESSION"].max(), rel=1e-9)
    assert row.pgp_expression_peak_h == pytest.approx(course["time_min"][peak] / 60, rel=1e-9)
    assert row.kpuu_at_pgp_peak == pytest.approx(course["MDZ_BRAIN.KPUU"][peak], rel=1e-9)
    # a seizure raises P-gp, a longer one more
    assert (summary["pgp_expression_peak"] > 1.0).all()
    assert summary["pgp_expression_peak"].iloc[-1] >= summary["pgp_expression_peak"].iloc[0]
    assert 0.0 < row.pgp_expression_peak_h <= demo.BRAIN_WINDOW_H


def test_cohort_columns_match_a_direct_simulation(summary):
    s = summary.set_index("delay_min")
    # the same 200 patients (seed 2024), computed again for one delay per arm
    alone = scenarios.cohort_outcomes((30.0,), N, 2024)
    for outcome, column in (("terminated", "cohort_terminated"),
                            ("respiratory_depression", "cohort_respiratory_depression"),
                            ("paradoxical", "cohort_paradoxical")):
        assert s.loc[30.0, column] == alone.loc[30.0, outcome]
    assert s.loc[30.0, "cohort_terminated"] == scenarios.cohort_termination((30,), n=N, seed=2024)[30]
    both = scenarios.cohort_termination((60,), n=N, seed=2024, drugs=("midazolam", "ketamine"))
    assert s.loc[60.0, "cohort_terminated_with_ketamine"] == both[60]
    untreated = scenarios.cohort_termination((5,), n=N, seed=2024, doses=[0.0])
    assert (summary["cohort_terminated_untreated"] == untreated[5]).all()
    # the story the demo tells: termination falls with delay; ketamine never hurts; late GABA-A turns excitatory
    f = summary["cohort_terminated"].to_numpy()
    assert np.all(np.diff(f) <= 0) and f[0] - f[-1] > 0.3
    assert np.all(summary["cohort_terminated_with_ketamine"].to_numpy() >= f)
    assert summary["cohort_paradoxical"].iloc[-1] > summary["cohort_paradoxical"].iloc[0]
    assert (summary["cohort_n"] == N).all()
    for column in ("cohort_terminated", "cohort_terminated_with_ketamine", "cohort_terminated_untreated",
                   "cohort_respiratory_depression", "cohort_paradoxical"):
        _check_intervals(summary, column, N)


def test_escalation_table(escalation, summary):
    assert list(escalation.columns) == list(demo.ESCALATION_COLUMNS)
    assert escalation["delay_min"].tolist() == [5.0] * 3 + [60.0] * 3
    assert escalation["dose_mg"].tolist() == [10.0, 20.0, 30.0] * 2
    assert (escalation["n"] == N).all()
    for outcome in OUTCOMES:
        _check_intervals(escalation, outcome, N)
    e = escalation.set_index(["delay_min", "dose_mg"])
    # the 1x rows are the summary's cohort (same patients, same dose)
    s = summary.set_index("delay_min")
    for delay in (5.0, 60.0):
        assert e.loc[(delay, 10.0), "terminated"] == s.loc[delay, "cohort_terminated"]
        assert e.loc[(delay, 10.0), "respiratory_depression"] == s.loc[delay, "cohort_respiratory_depression"]
        assert e.loc[(delay, 10.0), "paradoxical"] == s.loc[delay, "cohort_paradoxical"]
        # more drug, more respiratory depression
        assert np.all(np.diff(e.loc[delay, "respiratory_depression"].to_numpy()) >= 0)
        assert e.loc[(delay, 30.0), "respiratory_depression"] > e.loc[(delay, 10.0), "respiratory_depression"]
    # late, tripling the dose buys little termination
    assert e.loc[(60.0, 30.0), "terminated"] - e.loc[(60.0, 10.0), "terminated"] <= 0.10
    # a direct simulation of the 2x dose
    direct = scenarios.cohort_outcomes((60.0,), N, 2024, ("midazolam",), doses=[20.0])
    for outcome in OUTCOMES:
        assert e.loc[(60.0, 20.0), outcome] == direct.loc[60.0, outcome]


def test_report_is_formatted_from_the_tables(summary, escalation):
    summary, escalation = summary.copy(), escalation.copy()
    summary.loc[3, "f_gaba_at_dose"] = -0.42
    summary.loc[3, "max_effect_at_dose"] = 0.37
    summary.loc[3, "kpuu_at_pgp_peak"] = 0.77
    late_high = (escalation["delay_min"] == 60.0) & (escalation["dose_mg"] == 30.0)
    escalation.loc[late_high, "respiratory_depression"] = 0.777
    escalation.loc[late_high, "terminated"] = 0.611
    report = demo.write_report(summary, escalation, n=N, seed=2024, seconds=1.0)
    for text in ("-0.42", "0.37 when the dose arrived at 60 min", f"from {SE.kpuu('MDZ'):.2f} to 0.77 at the P-gp peak",
                 "to 78 % of patients", "terminated 61 % instead of"):
        assert text in report, text


def test_options_choose_the_drug_dose_and_delays(tmp_path):
    out = tmp_path / "lzp"
    assert main(["demo", "--out", str(out), "--quiet", "--n", "40", "--drug", "lorazepam", "--dose", "2",
                 "--delays", "10", "40"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["delay_min"].tolist() == [10.0, 40.0] and (summary["drug"] == "lorazepam").all()
    assert (summary["dose_mg"] == 2.0).all()
    course = scenarios.simulate_patient(10.0, ("lorazepam",), [2.0])
    assert summary.loc[0, "plasma_cmax_ng_ml"] == pytest.approx(1000 * course["LZP.CP"].max(), rel=1e-9)
    alone = scenarios.cohort_outcomes((40,), 40, 2024, ("lorazepam",), doses=[2.0])
    assert summary.loc[1, "cohort_terminated"] == alone.loc[40, "terminated"]
    assert summary.loc[1, "cohort_respiratory_depression"] == alone.loc[40, "respiratory_depression"]
    escalation = pd.read_csv(out / "escalation.csv")
    assert escalation["dose_mg"].tolist() == [2.0, 4.0, 6.0] * 2 and (escalation["n"] == 40).all()
    late = scenarios.cohort_outcomes((60,), 40, 2024, ("lorazepam",), doses=[6.0])
    assert escalation.iloc[-1]["paradoxical"] == late.loc[60, "paradoxical"]
    # delays without the escalation's: its 1x cohort is simulated, not taken from the summary's
    early = scenarios.cohort_outcomes((5,), 40, 2024, ("lorazepam",), doses=[2.0])
    assert escalation.iloc[0][list(OUTCOMES)].tolist() == early.loc[5, list(OUTCOMES)].tolist()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "lorazepam 2 mg" in report and "lorazepam at 2, 4, 6 mg" in report


@pytest.mark.parametrize("argv, message", [
    (["--delays", "300"], "delays must be one or more minutes in [0, 240)"),
    (["--delays", "10", "10"], "delays must differ"),
    (["--dose", "-1"], "dose must be a number of mg in (0, 1000]"),
    (["--drug", "propofol"], "invalid choice: 'propofol'"),
])
def test_bad_options_are_one_line_errors_before_any_work(tmp_path, capsys, argv, message):
    try:
        status = main(["demo", "--out", str(tmp_path / "out"), "--quiet", "--n", "10", *argv])
    except SystemExit as exc:                      # argparse's own checks
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()


def test_existing_outputs_are_kept_without_force(demo_dir, capsys):
    before = (demo_dir / "escalation.csv").read_bytes()
    assert main(["demo", "--out", str(demo_dir), "--quiet", "--n", "10"]) != 0
    assert "use --force" in capsys.readouterr().err
    assert (demo_dir / "escalation.csv").read_bytes() == before


def test_time_to_termination_is_first_time_it_stays_below():
    # the last crossing, interpolated between t = 2 (0.2) and t = 3 (0.05): 2 + 0.1 / 0.15
    assert demo.time_to_termination([0, 1, 2, 3, 4], [1, 0.05, 0.2, 0.05, 0.01]) == pytest.approx(2 + 0.1 / 0.15)
    assert demo.time_to_termination([0, 1], [0.05, 0.01]) == 0.0
    assert math.isnan(demo.time_to_termination([0, 1, 2], [1, 0.05, 0.5]))


def test_console_script_is_installed_and_rejects_bad_input(tmp_path, capsys):
    exe = shutil.which("pkpd")
    assert exe is not None, "the pkpd console script is not on PATH (pip install -e .)"
    done = subprocess.run([exe, "demo", "--help"], capture_output=True, text=True, check=True)
    assert "--out" in done.stdout and "--n" in done.stdout and "escalation" in done.stdout
    assert main(["demo", "--out", str(tmp_path / "x"), "--n", "0"]) == 2
    assert "--n must be a cohort size from 1 to 10000000, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["no-such-command"])
