"""End-to-end: ``pkpd nca``, ``fit``, ``simulate``, ``trial`` and ``demo`` (issue 8) run as subprocesses: nca
and fit on the bundled theophylline data, simulate and trial on the scenario files of ``examples/``; bad
input (missing file, malformed CSV or TOML, unknown model or drug, unknown key, wrong type, missing column)
ends with exit status 2 and one line ``pkpd: error: ...`` on stderr, never a traceback. Independent
subprocesses run a few at a time (each pays the ~3 s import of pkpd)."""

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.cli.commands import population_model
from pkpd.models.registry import resolve_model

# the subprocess imports the same pkpd as this test process (not another installed copy)
_ROOT = str(Path(pkpd.__file__).resolve().parents[1])
_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([_ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "MPLBACKEND": "Agg"}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pkpd.cli", *map(str, args)], capture_output=True, text=True,
                          env=_ENV, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    theo = pkpd.load_dataset("theophylline")
    pkpd.write_nonmem(theo, d / "theo.csv")
    pkpd.write_nonmem(theo.subject(1), d / "theo1.csv")
    lines = (d / "theo.csv").read_text().splitlines()
    first_obs = lines[2].split(",")
    first_obs[1] = "abc"                                   # a non-numeric TIME
    (d / "bad_time.csv").write_text("\n".join([lines[0], lines[1], ",".join(first_obs), *lines[3:]]) + "\n")
    frame = pd.read_csv(d / "theo.csv", dtype=str, keep_default_na=False)
    frame.drop(columns="TIME").to_csv(d / "no_time.csv", index=False)
    (d / "ragged.csv").write_text("ID,TIME,AMT\n1,0,100\n1,1,0,5,7,8\n")
    return d


def assert_one_line_error(done, *fragments):
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pkpd: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert done.stdout == ""


# -- help ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("command, words", [("nca", ("--out", "DATA.csv")),
                                            ("fit", ("--model", "--population", "--error", "--out",
                                                     "OneCompartmentOral"))])
def test_help(command, words):
    done = run(command, "--help")
    assert done.returncode == 0 and done.stderr == ""
    for word in words:
        assert word in done.stdout


def test_top_level_help_lists_the_commands():
    done = run("--help")
    assert done.returncode == 0
    for command in ("demo", "nca", "fit", "simulate", "trial"):
        assert command in done.stdout


# -- nca -----------------------------------------------------------------------------------------
def test_nca_writes_csv_and_markdown(files, tmp_path):
    out = tmp_path / "nca-out"
    done = run("nca", files / "theo.csv", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "nca.csv" in done.stdout and "nca.md" in done.stdout
    table = pd.read_csv(out / "nca.csv")
    direct = pkpd.nca(pkpd.read_nonmem(files / "theo.csv"))
    assert list(table.columns) == list(direct.columns) and len(table) == 12
    assert table.loc[table["ID"] == 1, "CMAX"].item() == pytest.approx(direct.loc[direct["ID"] == 1, "CMAX"].item(),
                                                                       rel=1e-12)
    assert table["AUCLAST"].to_numpy() == pytest.approx(direct["AUCLAST"].to_numpy(), rel=1e-12)
    md = (out / "nca.md").read_text(encoding="utf-8")
    assert "| ID | ROUTE | DOSE | CMAX |" in md and "| 1 | extravascular |" in md


def test_nca_default_folder(files, tmp_path):
    done = run("nca", files / "theo1.csv", "--quiet", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    assert len(pd.read_csv(tmp_path / "pkpd-nca" / "nca.csv")) == 1


@pytest.mark.parametrize("name, fragments", [("missing.csv", ("no such data file", "missing.csv")),
                                             ("bad_time.csv", ("TIME", "'abc'", "not a number")),
                                             ("no_time.csv", ("column TIME is missing",)),
                                             ("ragged.csv", ("ragged.csv line 3",))])
def test_nca_bad_input(files, tmp_path, name, fragments):
    assert_one_line_error(run("nca", files / name, "--out", tmp_path / "o"), *fragments)


# -- fit -----------------------------------------------------------------------------------------
def test_fit_each_subject(files, tmp_path):
    out = tmp_path / "fit-out"
    done = run("fit", files / "theo.csv", "--model", "one_compartment_oral", "--out", out)
    assert done.returncode == 0, done.stderr
    est = pd.read_csv(out / "estimates.csv")
    assert est["ID"].tolist() == list(range(1, 13))
    assert {"success", "ofv", "CL", "V", "KA", "err_SD"} <= set(est.columns)
    direct = pkpd.fit_individual(resolve_model("OneCompartmentOral"),
                                 pkpd.read_nonmem(files / "theo.csv").subject(1), error=pkpd.AdditiveError())
    assert est.loc[0, "CL"] == pytest.approx(direct.estimates["CL"], rel=1e-6)
    assert (out / "fits.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# OneCompartmentOral fitted to theo.csv") and "![fits](fits.png)" in report


def test_fit_one_subject_with_proportional_error(files, tmp_path):
    done = run("fit", files / "theo1.csv", "--model", "OneCompartmentOral", "--error", "proportional",
               "--out", tmp_path, "--quiet")
    assert done.returncode == 0 and done.stdout == ""
    est = pd.read_csv(tmp_path / "estimates.csv")
    assert len(est) == 1 and "err_CV" in est.columns


@pytest.mark.parametrize("error, columns, n_obs", [("exponential", {"err_SD"}, 10),
                                                   ("combined-sd", {"err_SD", "err_CV"}, 11)])
def test_fit_with_log_transform_both_sides_or_the_sd_form_of_the_combined_error(files, tmp_path, error, columns,
                                                                                 n_obs):
    """``--error exponential`` (log-transform both sides: the record at the dose time, predicted 0, is left out
    and said so) and ``--error combined-sd`` (NONMEM's W = THETA(a) + THETA(p)*F)."""
    done = run("fit", files / "theo1.csv", "--model", "OneCompartmentOral", "--error", error, "--out", tmp_path,
               "--quiet")
    assert done.returncode == 0, done.stderr
    est = pd.read_csv(tmp_path / "estimates.csv")
    assert est["success"].all() and columns <= set(est.columns)
    assert ("err_CV" in est.columns) == ("err_CV" in columns)
    assert int(est["n_obs"].iloc[0]) == n_obs
    assert 20 < est["V"].iloc[0] < 40


def test_fit_population(files, tmp_path):
    out = tmp_path / "pop"
    done = run("fit", files / "theo.csv", "--model", "OneCompartmentOral", "--population", "--out", out)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "table.csv", index_col=0)
    assert {"CL", "V", "KA", "omega2_CL", "omega2_V", "sigma_SD"} <= set(table.index)
    assert 2.0 < table.loc["CL", "estimate"] < 3.5 and 25 < table.loc["V", "estimate"] < 40
    etas = pd.read_csv(out / "etas.csv")
    assert etas["ID"].tolist() == list(range(1, 13)) and {"ETA_CL", "ETA_V"} <= set(etas.columns)
    assert (out / "gof.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "FOCEI on 12 subjects" in report and "![goodness of fit](gof.png)" in report


@pytest.fixture(scope="module")
def occasions_csv(tmp_path_factory):
    """16 subjects, two occasions (OCC 1, 2: 320 mg at 0 and 168 h), simulated with IOV on CL."""
    rows = []
    for i in range(1, 17):
        for occ, start in ((1, 0.0), (2, 168.0)):
            rows.append((i, start, 1, 320.0, np.nan, occ))
            rows += [(i, start + t, 0, 0.0, 0.0, occ) for t in (0.5, 1, 2, 4, 8, 12, 24)]
    frame = pd.DataFrame(rows, columns=["ID", "TIME", "EVID", "AMT", "DV", "OCC"])
    truth = pkpd.PopulationModel(resolve_model("OneCompartmentOral"), {"CL": 3.0, "V": 30.0, "KA": 1.5},
                                 {"CL": 0.09, "V": 0.04}, pkpd.ProportionalError(0.1), iov=pkpd.IOV({"CL": 0.05}))
    frame.loc[frame["EVID"] == 0, "DV"] = truth.simulate(frame, seed=3)["DV"].to_numpy()
    path = tmp_path_factory.mktemp("occ") / "occ.csv"
    frame.to_csv(path, index=False)
    return path


def test_fit_population_with_between_occasion_variability(occasions_csv, tmp_path):
    out = tmp_path / "iov"
    done = run("fit", occasions_csv, "--model", "OneCompartmentOral", "--population", "--iov", "CL", "--out", out)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "table.csv", index_col=0)
    assert {"omega2_CL", "omega2_V", "omega2_IOV_CL"} <= set(table.index)
    assert 0.005 < table.loc["omega2_IOV_CL", "estimate"] < 0.3
    etas = pd.read_csv(out / "etas.csv")
    assert {"ETA_CL", "ETA_IOV_CL[1]", "ETA_IOV_CL[2]"} <= set(etas.columns)
    assert "between-occasion variability (variance 0.05) on CL by OCC" in (out / "report.md").read_text()


@pytest.mark.parametrize("args, fragments", [
    (("--iov", "CL"), ("--iov (between-occasion variability) needs --population",)),
    (("--population", "--iov", "CL,XX"), ("--iov: ['XX'] are not parameters of OneCompartmentOral",)),
    (("--population", "--iov", "F1"), ("--iov: ['F1'] are held at their defaults",)),
    (("--population", "--iov", "CL", "--occasion", "VISIT"), ("column 'VISIT', which the data lack",)),
])
def test_fit_iov_bad_input(occasions_csv, tmp_path, args, fragments):
    assert_one_line_error(run("fit", occasions_csv, "--model", "OneCompartmentOral", *args, "--out", tmp_path / "o"),
                          *fragments)


@pytest.mark.parametrize("name, model, fragments", [
    ("missing.csv", "OneCompartmentOral", ("no such data file",)),
    ("bad_time.csv", "OneCompartmentOral", ("TIME", "'abc'")),
    ("no_time.csv", "OneCompartmentOral", ("column TIME is missing",)),
    ("theo.csv", "FourCompartment", ("unknown model 'FourCompartment'", "one_compartment_oral")),
])
def test_fit_bad_input(files, tmp_path, name, model, fragments):
    assert_one_line_error(run("fit", files / name, "--model", model, "--out", tmp_path / "o"), *fragments)


def test_fit_population_bad_input(files, tmp_path):
    assert_one_line_error(run("fit", files / "theo.csv", "--model", "one_compartment_oral_xyz", "--population"),
                          "unknown model")
    assert_one_line_error(run("fit", files / "bad_time.csv", "--model", "one_compartment_oral", "--population",
                              "--out", tmp_path), "not a number")
    assert not (tmp_path / "report.md").exists()


def test_fit_usage_errors_exit_2():
    for args in (["fit", "x.csv"], ["fit", "x.csv", "--model", "OneCompartment", "--error", "lognormal"]):
        done = run(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines()[-1].startswith("pkpd fit: error:")


def test_fit_default_error_is_the_api_default_and_init_gives_start_values(files, tmp_path):
    """Issue 15: without --error the CLI fits with the API's default error model (fit_individual without
    ``error``), and --init CL=2,V=30 reaches the same estimates as fit_each(..., init=...)."""
    out = tmp_path / "init"
    done = run("fit", files / "theo.csv", "--model", "one_compartment_oral", "--init", "CL=2,V=30", "--out", out)
    assert done.returncode == 0, done.stderr
    est = pd.read_csv(out / "estimates.csv")
    data = pkpd.read_nonmem(files / "theo.csv")
    default = pkpd.fit_individual(resolve_model("OneCompartmentOral"), data.subject(1))
    started = pkpd.fit_each(resolve_model("OneCompartmentOral"), data, init={"CL": 2, "V": 30})
    assert "err_SD" in est.columns and est["success"].all() and est["warnings"].isna().all()
    for k in ("CL", "V", "KA"):
        assert est.loc[0, k] == pytest.approx(default.estimates[k], rel=1e-5)
        assert est[k].to_numpy() == pytest.approx([started[i].estimates[k] for i in range(1, 13)], rel=1e-6)
    assert "CL = 2, V = 30 (--init)" in (out / "report.md").read_text(encoding="utf-8")


def test_fit_init_errors_and_skipped_subjects(files, tmp_path):
    """Bad --init syntax is a usage error (pkpd fit: error:), an unknown name a bad input (pkpd: error:), both
    one line and exit status 2; subjects without doses or observations are named in report.md."""
    for value, fragment in (("CL2", "'CL2' is not NAME=VALUE"), ("CL=abc", "'abc' is not a number"),
                            ("CL=2,CL=3", "CL is given twice")):
        done = run("fit", files / "theo.csv", "--model", "OneCompartmentOral", "--init", value)
        assert done.returncode == 2 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
        assert done.stderr.startswith("pkpd fit: error: argument --init: ") and fragment in done.stderr
    assert_one_line_error(run("fit", files / "theo.csv", "--model", "OneCompartmentOral", "--init", "CLX=2",
                              "--out", tmp_path / "o"), "--init: 'CLX' is not a parameter of OneCompartmentOral")
    ev = pd.read_csv(files / "theo.csv", na_values=".")
    ev = ev[~((ev["ID"] == 3) & (ev["EVID"] == 1)) & (ev["ID"] <= 4)]
    ev.to_csv(tmp_path / "no_dose.csv", index=False, na_rep=".")
    done = run("fit", tmp_path / "no_dose.csv", "--model", "OneCompartmentOral", "--out", tmp_path / "skip")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert pd.read_csv(tmp_path / "skip" / "estimates.csv")["ID"].tolist() == [1, 2, 4]
    report = (tmp_path / "skip" / "report.md").read_text(encoding="utf-8")
    assert "SUBJECTS_SKIPPED: 1 subject skipped, IDs 3 (no dose records)" in report


# -- in process: names and population defaults -------------------------------------------------
@pytest.mark.parametrize("name", ["OneCompartmentOral", "one_compartment_oral", "ONE-COMPARTMENT-ORAL"])
def test_model_aliases(name):
    assert resolve_model(name).name == "OneCompartmentOral"


def test_population_defaults():
    data = pkpd.load_dataset("theophylline")
    pm = population_model(resolve_model("TwoCompartmentOral"), data, pkpd.AdditiveError())
    assert set(pm.theta) == {"CL", "V1", "Q", "V2", "KA"}
    assert pm.eta_names == ("CL", "V1")
    assert pm.omega.loc["CL", "CL"] == 0.1
    started = population_model(resolve_model("OneCompartmentOral"), data, pkpd.AdditiveError(), {"CL": 2.0, "F1": 0.9})
    assert started.theta["CL"] == 2.0 and started.theta["F1"] == 0.9 and set(started.theta) == {"CL", "V", "KA", "F1"}



# -- simulate, trial, demo: scenario files and bad input ----------------------------------------
_EXAMPLES = Path(_ROOT) / "examples"
_EXAMPLE_FILES = sorted(_EXAMPLES.glob("*.toml"))


def run_all(jobs: dict, workers: int = 3) -> dict:
    """Run ``{key: (args, kwargs)}`` as concurrent subprocesses; ``{key: CompletedProcess}``."""
    with ThreadPoolExecutor(workers) as pool:
        futures = {k: pool.submit(run, *args, **kw) for k, (args, kw) in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


_SIM_OK = 'model = "one_compartment"\ntimes = [0, 1, 2]\n[[doses]]\namount = 100\n'
_TRIAL_OK = ('times = [0, 1]\n[population]\nn = 5\n[model]\nname = "status_epilepticus"\n'
             '[[arms.a.doses]]\ndrug = "midazolam"\nroute = "im"\namount = 10\n[[endpoints]]\ntype = "terminated_by"\n'
             'time = 1\n')

#: name -> (command, file text or None for a missing file, extra args, fragments of the one-line message)
#: run as subprocesses (the three kinds of bad input of each command)
_BAD = {
    "simulate-missing": ("simulate", None, (), ("no such scenario file", "missing.toml")),
    "simulate-malformed": ("simulate", 'model = one_compartment\n', (), ("malformed TOML", "line 1, column")),
    "simulate-unknown-drug": ("simulate", _SIM_OK.replace('model = "one_compartment"', 'drug = "midazolamm"'), (),
                              ("drug: unknown drug 'midazolamm'", "lorazepam")),
    "trial-missing": ("trial", None, (), ("no such scenario file",)),
    "trial-malformed": ("trial", _TRIAL_OK.replace("n = 5", "n = "), (), ("malformed TOML", "line 3")),
    "trial-unknown-model": ("trial", _TRIAL_OK.replace("status_epilepticus", "four_compartment"), (),
                            ("model.name: unknown model 'four_compartment'", "status_epilepticus", "midazolam")),
}

#: more bad input, through pkpd.cli.main in this process (the same code path, without the import cost)
_BAD_IN_PROCESS = {
    "simulate-unknown-model": ("simulate", _SIM_OK.replace("one_compartment", "four_compartment"), (),
                               ("model: unknown model 'four_compartment'", "one_compartment_oral")),
    "simulate-unknown-key": ("simulate", _SIM_OK + "colour = 1\n", (), ("doses[0].colour: unknown key", "amount")),
    "simulate-wrong-type": ("simulate", _SIM_OK.replace("amount = 100", 'amount = "ten"'), (),
                            ("doses[0].amount: expected a finite number", "'ten'")),
    "simulate-bad-times": ("simulate", _SIM_OK.replace("[0, 1, 2]", "[0, 2, 1]"), (),
                           ("times[2]: times must be strictly increasing",)),
    "simulate-bad-route": ("simulate", _SIM_OK.replace("amount = 100", 'amount = 100\nroute = "oral"'), (),
                           ("doses[0].route", "no DEPOT compartment")),
    "trial-unknown-drug": ("trial", _TRIAL_OK.replace('"midazolam"', '"midazolm"'), (),
                           ("arms.a.doses[0].drug: unknown drug 'midazolm'", "lorazepam")),
    "trial-wrong-type": ("trial", _TRIAL_OK.replace("n = 5", 'n = "many"'), (),
                         ("population.n: expected an integer", "'many'")),
    "trial-unknown-section": ("trial", _TRIAL_OK + "[arm]\nx = 1\n", (), ("arm: unknown key in the top level",)),
    "trial-unknown-endpoint": ("trial", _TRIAL_OK.replace('"terminated_by"', '"response"'), (),
                               ("endpoints[0].type: expected one of", "'time_to_termination'")),
    "trial-two-benzodiazepines": ("trial", _TRIAL_OK + '[[arms.a.doses]]\ndrug = "lorazepam"\namount = 4\n', (),
                                  ("arms.a: at most one benzodiazepine",)),
    "trial-bad-workers": ("trial", _TRIAL_OK, ("--workers", "-1"), ("--workers",)),
}


@pytest.mark.parametrize("key", list(_BAD_IN_PROCESS))
def test_scenario_bad_input_in_process(tmp_path, capsys, key):
    from pkpd.cli import main

    command, text, extra, fragments = _BAD_IN_PROCESS[key]
    (tmp_path / "s.toml").write_text(text)
    assert main([command, str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pkpd: error: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "a_file").write_text("not a folder\n")
    jobs = {}
    for key, (command, text, extra, _) in _BAD.items():
        path = d / f"{key}.toml" if text is not None else d / "missing.toml"
        if text is not None:
            path.write_text(text)
        jobs[key] = ((command, path, "--out", d / f"out-{key}", *extra), {})
    jobs["demo-out-is-a-file"] = (("demo", "--out", d / "a_file", "--n", "5"), {})
    return d, run_all(jobs)


@pytest.mark.parametrize("key", list(_BAD))
def test_scenario_bad_input(bad_runs, key):
    d, runs = bad_runs
    assert_one_line_error(runs[key], *_BAD[key][3])
    assert not (d / f"out-{key}").exists()                 # nothing written


def test_demo_bad_input(bad_runs):
    _, runs = bad_runs
    assert_one_line_error(runs["demo-out-is-a-file"], "a_file", "is not a folder")


@pytest.mark.parametrize("argv, fragments", [(["demo", "--n", "0", "--out", "x"], ("pkpd: error: --n must be",)),
                                             (["demo", "--colour", "red"],
                                              ("pkpd: error: unrecognized arguments: --colour red (see 'pkpd --help')",)),
                                             (["trial"], ("pkpd trial: error:", "SCENARIO.toml")),
                                             (["simulate", "x.toml", "--workers", "2"],
                                              ("pkpd: error: unrecognized arguments: --workers",)),
                                             (["trial", "x.toml", "--workers", "two"],
                                              ("pkpd trial: error: argument --workers",))])
def test_usage_errors_are_one_line(capsys, argv, fragments):
    from pkpd.cli import main

    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1, captured.err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command, words", [("simulate", ("SCENARIO.toml", "examples/", "regimens", "--out",
                                                          "times", "mg")),
                                            ("trial", ("SCENARIO.toml", "examples/", "--workers", "--n", "--out",
                                                       "[population]", "[[endpoints]]", "per_kg"))])
def test_scenario_help(capsys, command, words):
    from pkpd.cli import main

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in words:
        assert word in text


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    """Every examples/*.toml (trials with --n 40, serially), and trial_rampart with --workers 2."""
    d = tmp_path_factory.mktemp("examples")
    jobs = {}
    for path in _EXAMPLE_FILES:
        extra = ("--n", "40") if path.name.startswith("trial") else ()
        jobs[path.name] = ((path.name.split("_")[0], path, "--out", d / path.stem, *extra), {})
    jobs["dask"] = (("trial", _EXAMPLES / "trial_rampart.toml", "--n", "40", "--workers", "2", "--quiet",
                     "--out", d / "dask"), {})
    return d, run_all(jobs, workers=2)


def test_examples_exist():
    names = {p.name for p in _EXAMPLE_FILES}
    assert {"simulate_loading_dose.toml", "simulate_two_regimens.toml", "trial_rampart.toml"} <= names
    readme = (_EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert name in readme


@pytest.mark.parametrize("name", [p.name for p in _EXAMPLE_FILES])
def test_example_runs(example_runs, name):
    from pkpd.cli.scenario_file import read_toml

    d, runs = example_runs
    done = runs[name]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = d / Path(name).stem
    doc = read_toml(_EXAMPLES / name)
    if name.startswith("simulate"):
        table = pd.read_csv(out / "timecourses.csv")
        assert list(table.columns[:3]) == ["regimen", "ID", "TIME"]
        regimens = list(doc.get("regimens", {"regimen": None}))
        assert list(dict.fromkeys(table["regimen"])) == regimens
        assert table["ID"].nunique() == doc.get("subjects", 1)
        summary = pd.read_csv(out / "summary.csv")
        assert {"regimen", "output", "n", "CMAX", "TMAX", "AUC", "CTROUGH", "CLAST"} <= set(summary.columns)
        assert summary["regimen"].tolist() == regimens and (summary["CMAX"] > 0).all()
        md = (out / "summary.md").read_text(encoding="utf-8")
        assert md.startswith(f"# {doc['title']}") and "| regimen | output | n | CMAX |" in md
        png = out / "timecourses.png"
    else:
        summary = pd.read_csv(out / "summary.csv")
        assert list(summary.columns) == ["arm", "endpoint", "statistic", "estimate", "lower", "upper", "n", "unit"]
        assert list(dict.fromkeys(summary["arm"])) == list(doc["arms"])
        assert (summary["n"] == 40).all()
        subjects = pd.read_csv(out / "subjects.csv")
        assert len(subjects) == 40 * len(doc["arms"]) and {"ID", "arm"} <= set(subjects.columns)
        assert {"arm", "output", "TIME", "Q5", "Q50", "Q95"} <= set(pd.read_csv(out / "timecourses.csv").columns)
        md = (out / "report.md").read_text(encoding="utf-8")
        assert md.startswith(f"# {doc['title']}") and "| arm | endpoint | statistic |" in md
        png = out / "trial.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_loading_dose_values(example_runs):
    """The loading dose reaches the phenytoin range at once; maintenance alone stays far below it."""
    d, _ = example_runs
    s = pd.read_csv(d / "simulate_loading_dose" / "summary.csv").set_index("regimen")
    assert 10 < s.loc["loading + maintenance", "CMAX"] < 25 and s.loc["loading + maintenance", "TMAX"] == 0.5
    assert s.loc["maintenance only", "CMAX"] < 10
    assert s.loc["loading + maintenance", "CTROUGH"] > 2 * s.loc["maintenance only", "CTROUGH"]


def test_trial_on_dask_workers_is_bit_identical(example_runs):
    d, runs = example_runs
    assert runs["dask"].returncode == 0, runs["dask"].stderr
    assert runs["dask"].stdout == ""
    for name in ("summary.csv", "subjects.csv", "timecourses.csv"):
        assert (d / "dask" / name).read_bytes() == (d / "trial_rampart" / name).read_bytes(), name
