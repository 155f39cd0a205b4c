"""End-to-end: ``pkpd nca`` and ``pkpd fit`` (issue 8) run as subprocesses on the bundled theophylline data;
bad input (missing file, malformed CSV, unknown model, missing column) ends with exit status 2 and one line
``pkpd: error: ...`` on stderr, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import pkpd
from pkpd._cli_commands import population_model, resolve_model

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
    for command in ("demo", "nca", "fit"):
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
