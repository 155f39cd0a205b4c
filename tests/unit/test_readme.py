"""The README's examples run as written (they are the first thing a new user copies)."""

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_examples_run_and_give_the_documented_shapes():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert list(namespace["result"].to_frame().columns) == ["ID", "TIME", "CP", "CENTRAL", "PERIPH"]
    assert len(namespace["result"]) == 200 * 481
    pred = namespace["pred"]
    assert len(pred) == len(namespace["data"].events) and (pred["CP"] >= 0).all()
    fit = namespace["fit"]                  # subject 1: CL/F 1.58 L/h (R nlsList: exp(-3.916) x 79.6 kg)
    assert fit.success and fit.estimates["CL"] == pytest.approx(1.58, rel=0.02)
    popfit = namespace["popfit"]            # FOCE-I on Theoph with weight-proportional CL and V
    assert popfit.success and popfit.theta["CL"] == pytest.approx(2.86, rel=0.02) and not popfit.warnings
    assert namespace["dose"].achieved == pytest.approx(8.0, rel=1e-6)


def test_ci_runs_the_readme_set_up_commands_exactly():
    """The two set-up commands of the README appear verbatim in .ci/run, which runs them in a clean venv."""
    commands = re.findall(r"^(python -m pip install .*?)\s+#", README.read_text(), re.M)
    assert commands == ['python -m pip install -e ".[all]" && pkpd demo',
                        'python -m pip install -e ".[test]" && python -m pytest']
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m venv" in ci
    for command in commands:
        assert f"\n{command}\n" in ci, command
