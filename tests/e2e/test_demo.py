"""End-to-end: ``pkpd demo`` (issue 4, criterion 6) writes its four outputs, and the numbers in
``summary.csv`` are those of a direct simulation with :mod:`pkpd.se.scenarios`; its options (drug, dose, delays)."""

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from pkpd import demo, scenarios
from pkpd.cli import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "pkpd-demo"
    assert main(["demo", "--out", str(out), "--quiet", "--n", "200"]) == 0
    return out


def test_demo_writes_the_four_outputs(demo_dir):
    for name in ("timecourse.png", "cohort.png", "summary.csv", "report.md"):
        path = demo_dir / name
        assert path.is_file() and path.stat().st_size > 500, name
    assert (demo_dir / "timecourse.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (demo_dir / "report.md").read_text(encoding="utf-8")
    assert "![typical patient](timecourse.png)" in report and "| 30 |" in report


def test_summary_matches_a_direct_simulation(demo_dir):
    summary = pd.read_csv(demo_dir / "summary.csv")
    assert list(summary.columns) == list(demo.SUMMARY_COLUMNS)
    assert summary["delay_min"].tolist() == [5.0, 15.0, 30.0, 60.0]
    for _, row in summary.iterrows():
        course = scenarios.simulate_patient(row.delay_min, ("midazolam",), brain=True)
        at_dose = course[course["time_min"] == row.delay_min].iloc[0]
        assert row.plasma_cmax_ng_ml == pytest.approx(1000 * course["MDZ.CP"].max(), rel=1e-9)
        assert row.brain_unbound_cmax_ng_ml == pytest.approx(1000 * course["MDZ_BRAIN.CU"].max(), rel=1e-9)
        assert row.surface_gabaa_at_dose == pytest.approx(at_dose["GABAA.SURFACE_A235"], rel=1e-9)
        assert row.e_gaba_at_dose_mv == pytest.approx(at_dose["CHLORIDE.E_GABA"], rel=1e-9)
        stopped = course["SEIZURE.ACTIVITY"].iloc[-1] < 0.1
        assert bool(row.typical_terminated) == stopped
        assert math.isnan(row.time_to_termination_min) != stopped
    # the cohort: the same 200 patients (seed 2024), computed again for one delay per arm
    alone = scenarios.cohort_termination((30,), n=200, seed=2024)
    both = scenarios.cohort_termination((60,), n=200, seed=2024, drugs=("midazolam", "ketamine"))
    assert summary.set_index("delay_min").loc[30.0, "cohort_terminated"] == alone[30]
    assert summary.set_index("delay_min").loc[60.0, "cohort_terminated_with_ketamine"] == both[60]
    # the story the demo tells: termination falls strictly with delay; ketamine helps late
    f = summary["cohort_terminated"].to_numpy()
    assert np.all(np.diff(f) < 0)
    assert np.all(summary["cohort_terminated_with_ketamine"].to_numpy()[2:] > f[2:])
    # the untreated arm: the same patients with no drug, and 95 % Wilson intervals around every fraction
    untreated = scenarios.cohort_termination((5,), n=200, seed=2024, doses=[0.0])
    assert (summary["cohort_terminated_untreated"] == untreated[5]).all()
    from pkpd.trials import wilson
    for column in ("cohort_terminated", "cohort_terminated_with_ketamine", "cohort_terminated_untreated"):
        for p, low, high in summary[[column, f"{column}_low", f"{column}_high"]].itertuples(index=False):
            assert (low, high) == pytest.approx(wilson(round(p * 200), 200), rel=1e-12)
            assert low <= p <= high and high - low < 0.2


def test_options_choose_the_drug_dose_and_delays(tmp_path):
    out = tmp_path / "lzp"
    assert main(["demo", "--out", str(out), "--quiet", "--n", "40", "--drug", "lorazepam", "--dose", "2",
                 "--delays", "10", "40"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["delay_min"].tolist() == [10.0, 40.0] and (summary["drug"] == "lorazepam").all()
    assert (summary["dose_mg"] == 2.0).all()
    course = scenarios.simulate_patient(10.0, ("lorazepam",), [2.0], brain=True)
    assert summary.loc[0, "plasma_cmax_ng_ml"] == pytest.approx(1000 * course["LZP.CP"].max(), rel=1e-9)
    alone = scenarios.cohort_termination((40,), n=40, seed=2024, drugs=("lorazepam",), doses=[2.0])
    assert summary.loc[1, "cohort_terminated"] == alone[40]
    assert "lorazepam 2 mg" in (out / "report.md").read_text(encoding="utf-8")


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


def test_time_to_termination_is_first_time_it_stays_below():
    # the last crossing, interpolated between t = 2 (0.2) and t = 3 (0.05): 2 + 0.1 / 0.15
    assert demo.time_to_termination([0, 1, 2, 3, 4], [1, 0.05, 0.2, 0.05, 0.01]) == pytest.approx(2 + 0.1 / 0.15)
    assert demo.time_to_termination([0, 1], [0.05, 0.01]) == 0.0
    assert math.isnan(demo.time_to_termination([0, 1, 2], [1, 0.05, 0.5]))


def test_console_script_is_installed_and_rejects_bad_input(tmp_path, capsys):
    exe = shutil.which("pkpd")
    assert exe is not None, "the pkpd console script is not on PATH (pip install -e .)"
    done = subprocess.run([exe, "demo", "--help"], capture_output=True, text=True, check=True)
    assert "--out" in done.stdout and "--n" in done.stdout
    assert main(["demo", "--out", str(tmp_path / "x"), "--n", "0"]) == 2
    assert "--n must be a cohort size from 1 to 10000000, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["no-such-command"])
