"""The README's numbers agree with where they come from: docs/validation.md (regenerated from the validation
tests) for agreement with references and for which trial arms are met or missed.

Each claim is found in the README by a pattern; if the README's wording changes, the test fails and names the
claim, so a number cannot drift away from its source unnoticed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
VALIDATION = (ROOT / "docs" / "validation.md").read_text()


def _claim(pattern: str) -> re.Match:
    match = re.search(pattern, " ".join(README.split()))
    assert match, f"README no longer states the claim {pattern!r}; update it and this test together"
    return match


def _rows(test_name: str) -> list[str]:
    """The report's lines of one validation test: its row and the comparison rows below it."""
    lines = VALIDATION.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"| `{test_name}`")), None)
    assert start is not None, f"docs/validation.md has no test {test_name}"
    rows = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("| |"):
            break
        rows.append(line)
    return rows


def _tolerances(rows: list[str]) -> list[float]:
    """Absolute tolerances (``±0.002``) of the comparison rows."""
    return [float(m) for row in rows[1:] for m in re.findall(r"\| ±([0-9.e-]+) \|", row)]


def test_theophylline_agreement_with_r_is_what_the_validation_tests_require():
    claimed = float(_claim(r"match R's `nls`/`nlsList` estimates to ([0-9.e-]+)").group(1))
    tolerances = (_tolerances(_rows("test_naive_pooled_theophylline_matches_r_nls"))
                  + _tolerances(_rows("test_each_subject_matches_r_nlslist")))
    assert tolerances, "no recorded tolerances for the theophylline fits"
    # the README may not claim closer agreement than the tests check
    assert claimed >= max(tolerances), f"README claims {claimed}, the tests check {max(tolerances)}"
    assert "passed" in _rows("test_naive_pooled_theophylline_matches_r_nls")[0]
    assert "passed" in _rows("test_each_subject_matches_r_nlslist")[0]


def test_fm3theo_objective_claim_matches_its_test():
    claimed = float(_claim(r"matches nlme's log-likelihood of `fm3Theo` to ([0-9.]+)").group(1))
    row = _rows("test_objective_at_nlme_estimates_equals_nlme_log_likelihood")[0]
    reported = float(re.search(r"reported to ([0-9.e-]+)\)", row).group(1))
    assert "passed" in row and claimed >= reported


@pytest.mark.parametrize("arm, met", [("phenytoin 18 mg/kg", True), ("diazepam 0.15 mg/kg + phenytoin 18 mg/kg", True),
                                      ("lorazepam 0.1 mg/kg", False), ("phenobarbital 15 mg/kg", False)])
def test_the_va_cooperative_arms_the_readme_says_are_met_or_missed(arm, met):
    _claim(r"phenytoin and diazepam \+ phenytoin arms are predicted within 10 points, its lorazepam and "
           r"phenobarbital arms are missed")
    row = _rows(f"test_va_cooperative_arms_are_predicted[{arm}]")[0]
    assert row.rstrip(" |").endswith("passed") is met, row


def test_esett_valproate_is_just_outside_8_points_as_the_readme_says():
    _claim(r"ESETT's valproate arm ends just outside 8")
    row = next(r for r in _rows("test_calibration_check_rampart_and_esett_within_8_points[valproate 40 mg/kg]")[1:])
    predicted, observed = (float(x) for x in re.findall(r"\| ([0-9.]+) \| ([0-9.]+) \| ±0.08", row)[0])
    assert 0.08 < abs(predicted - observed) < 0.10
