"""Security: no file a user passes in can run code (fit files are data, the package has no pickle/eval/exec)."""

import ast
import base64
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.models import OneCompartmentOral
from pkpd.population.spec import popmodel_from_spec, popmodel_to_spec

PACKAGE = Path(pkpd.__file__).parent


class _Payload:
    """Unpickling this object creates a marker file: proof that code in a file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code from a data file ran"))


@pytest.fixture(scope="module")
def theo_fit():
    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.05, "KA": 0.4},
                              pkpd.AdditiveError(0.7))
    return pkpd.fit_population(pm, pkpd.load_dataset("theophylline"), covariance=False, progress=False)


def _saved(fit, tmp_path) -> dict:
    return json.loads(fit.save(tmp_path / "fit.json").read_text())


def test_a_crafted_fit_file_with_a_pickle_payload_cannot_run_code(theo_fit, tmp_path):
    marker = tmp_path / "pwned"
    payload = base64.b64encode(pickle.dumps(_Payload(marker))).decode("ascii")
    for version in (1, 2):             # the old pickled layout and the current one with the model field replaced
        doc = _saved(theo_fit, tmp_path)
        doc["version"], doc["popmodel"] = version, payload
        crafted = tmp_path / f"crafted_v{version}.json"
        crafted.write_text(json.dumps(doc))
        with pytest.raises(pkpd.DatasetError, match=f"crafted_v{version}.json"):
            pkpd.load_population_fit(crafted)
        assert not marker.exists()
    # the payload is live: unpickling it does write the marker (so the test above could fail)
    pickle.loads(base64.b64decode(payload))
    assert marker.exists()


@pytest.mark.parametrize("key, value, message", [
    ("class", "os.system", r"popmodel.model.class must be one of"),
    ("class", "Model", r"popmodel.model.class must be one of"),
    ("drug", "__import__('os')", r"popmodel.model.drug must be a name"),
])
def test_a_model_class_outside_the_library_is_refused_by_key(theo_fit, tmp_path, key, value, message):
    doc = _saved(theo_fit, tmp_path)
    doc["popmodel"]["model"][key] = value
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(pkpd.DatasetError, match=message):
        pkpd.load_population_fit(tmp_path / "bad.json")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["popmodel"]["theta"].update(CL="1e3"), r"popmodel.theta.CL must be a finite number"),
    (lambda d: d["popmodel"]["error"].update(kind="pickle"), r"popmodel.error.kind must be one of"),
    (lambda d: d["popmodel"].update(extra={"__reduce__": 1}), r"popmodel. must be a table with keys"),
    (lambda d: d.update(shrinkage={"eta_CL": "x"}), r"field 'shrinkage' must be a table of numbers"),
    (lambda d: d.update(etas={"frame": 1, "code": "x"}), r"field 'etas' holds a table with keys"),
    (lambda d: d.update(extra=1), r"unknown field\(s\) \['extra'\]"),
    (lambda d: d["popmodel"]["omega"].update(matrix=[[0.05]]), r"popmodel.omega.matrix must be a 2 x 2"),
    (lambda d: d["popmodel"]["omega"].update(matrix=[[-1.0, 0.0], [0.0, 0.4]]), r"stored population model is inv"),
])
def test_malformed_fit_files_name_the_field(theo_fit, tmp_path, edit, message):
    doc = _saved(theo_fit, tmp_path)
    edit(doc)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(pkpd.DatasetError, match=message):
        pkpd.load_population_fit(tmp_path / "bad.json")


def test_non_json_and_deeply_nested_files_are_refused(tmp_path):
    (tmp_path / "binary.json").write_bytes(b"\x80\x04\x95" + bytes(range(256)))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    for name in ("binary.json", "deep.json"):
        with pytest.raises(pkpd.DatasetError, match=f"{name}: not a"):
            pkpd.load_population_fit(tmp_path / name)


def test_the_declarative_spec_round_trips_every_covariate_and_error_kind():
    pm = pkpd.PopulationModel(
        OneCompartmentOral(drug="THEO"), {"CL": 2.8, "V": 32.0, "KA": 1.5},
        pd.DataFrame([[0.1, 0.02], [0.02, 0.3]], index=["CL", "V"], columns=["CL", "V"]),
        pkpd.CombinedError(0.2, 0.1, fixed=True),
        [pkpd.power("CL", "WT", reference=70, exponent=0.75, fixed=True),
         pkpd.exponential("V", "AGE", reference=40, coefficient=-0.01),
         pkpd.linear("KA", "CRCL", reference=100, slope=0.002),
         pkpd.categorical("CL", "CYP2C19", {"IM": 0.7, "PM": 0.4}, gene="CYP2C19")],
        transforms={"KA": "identity"}, fixed=("KA",), carry="locf")
    spec = json.loads(json.dumps(popmodel_to_spec(pm)))           # through JSON text, as a file would be
    back = popmodel_from_spec(spec, "fit.json")
    assert back.theta == pm.theta and back.covariates == pm.covariates and back.error == pm.error
    assert back.omega.equals(pm.omega) and back.model.drug == "THEO" and type(back.model) is OneCompartmentOral
    assert (back.transforms, back.fixed, back.carry) == (pm.transforms, pm.fixed, pm.carry)
    per_output = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1},
                                      {"CP": pkpd.ProportionalError(0.1)})
    assert popmodel_from_spec(popmodel_to_spec(per_output), "f").error == {"CP": pkpd.ProportionalError(0.1)}


def test_a_model_that_cannot_be_described_is_not_stored_and_the_save_says_so(theo_fit, tmp_path):
    pm = pkpd.PopulationModel(OneCompartmentOral(), {"TVCL": 2.8}, {"CL": 0.1}, pkpd.AdditiveError(0.7),
                              individual=lambda theta, eta: {"CL": theta["TVCL"] * np.exp(eta[:, 0]),
                                                             "V": np.full(len(eta), 32.0),
                                                             "KA": np.full(len(eta), 1.5)})
    assert popmodel_to_spec(pm) is None
    from dataclasses import replace
    with pytest.warns(UserWarning, match="not stored"):
        path = replace(theo_fit, popmodel=pm).save(tmp_path / "custom.json")
    assert pkpd.load_population_fit(path).popmodel is None


# -- the package itself ------------------------------------------------------------------------------------
_FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
_FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__"}       # called by bare name
_FORBIDDEN_METHODS = {"read_pickle", "eval", "exec"}                    # called as x.name(...)


def _findings(source: str, name: str) -> list:
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in _FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _FORBIDDEN_MODULES:
            found.append(f"from {node.module} import")
        elif isinstance(node, ast.Call):
            func = node.func
            if ((isinstance(func, ast.Name) and func.id in _FORBIDDEN_BUILTINS)
                    or (isinstance(func, ast.Attribute) and func.attr in _FORBIDDEN_METHODS)):
                found.append(f"{ast.unparse(func)}(...)")
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append("allow_pickle=...")
    return [f"{name}:{f}" for f in found]


def test_the_package_never_unpickles_evaluates_or_executes():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += _findings(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
    assert found == []


@pytest.mark.parametrize("source", ["import pickle", "from marshal import loads", "eval('1')", "exec(x)",
                                    "pd.read_pickle(p)", "np.load(p, allow_pickle=True)", "__import__('os')",
                                    "frame.eval('a + b')", "compile(s, 'f', 'exec')"])
def test_the_scan_catches_each_forbidden_form(source):
    assert _findings(source, "x.py")
