"""The validation report (``python -m tools.validation_report`` -> docs/validation.md): completeness, rendering, --check."""

import subprocess
import sys
from pathlib import Path

import pytest

from tools.validation_report import NOT_RUN_SLOW, Recorder, TestRecord, diff_reports, listed_tests, render

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "validation.md"


def _collected_validation_tests():
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "", "-p", "no:cacheprovider",
                          "tests/validation"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {line.strip() for line in out.splitlines() if "::" in line}


def test_every_validation_test_appears_in_the_report():
    """Criterion: every validation test in the repository appears in docs/validation.md."""
    collected = _collected_validation_tests()
    assert len(collected) > 100
    listed = listed_tests(REPORT.read_text(encoding="utf-8"))
    missing = sorted(collected - listed)
    assert not missing, f"{len(missing)} validation tests missing from docs/validation.md " \
                        f"(regenerate with python -m tools.validation_report): {missing[:10]}"


class _Node:
    def __init__(self):
        self.user_properties = []


def _records():
    node = _Node()
    rec = Recorder(node, source="Gibaldi & Perrier")
    rec.compare("C at 1 h (mg/L)", 1.8096748360719, 1.80967483607, rtol=1e-9)
    rec.compare("phenotype", "IM", "IM", source="CPIC")
    rec.within("fraction | controlled", [0.61, 0.66], 0.5, 0.7, source="RAMPART", calibration=True)
    with pytest.raises(AssertionError):
        rec.compare("CL (L/h)", 3.0, 2.0, atol=0.5)
    comps = [dict(v) for _, v in node.user_properties]
    return [
        TestRecord("tests/validation/test_b.py::test_two[x|y]", doc="Second.", outcome="failed", comparisons=comps,
                   module_doc="Module B.\n\nSecond paragraph."),
        TestRecord("tests/validation/test_b.py::test_slow", outcome="not run", detail=NOT_RUN_SLOW),
        TestRecord("tests/validation/test_a.py::test_one", doc="One  line\n docstring (Ref. 1).", outcome="xfailed",
                   detail="known"),
    ]


def test_a_calibration_check_marker_labels_every_comparison_of_the_test():
    class Marked(_Node):
        def get_closest_marker(self, name):
            return object() if name == "calibration_check" else None

    node = Marked()
    rec = Recorder(node)
    rec.compare("arm", 0.73, 0.734, atol=0.08)
    rec.compare("other", 1.0, 1.0, calibration=False)               # a comparison may say otherwise
    assert [v["evidence"] for _, v in node.user_properties] == ["calibration target", "independent"]


def test_recorder_asserts_and_records():
    node = _Node()
    rec = Recorder(node)
    assert rec.compare("x", [1.0, 2.0], [1.0, 2.0 + 1e-10], rtol=1e-9) == [1.0, 2.0]
    with pytest.raises(AssertionError):
        rec.within("y", 3.0, None, 2.0)
    (_, a), (_, b) = node.user_properties
    assert a["passed"] and a["n"] == 2 and a["reference"] == 2.0 + 1e-10
    assert not b["passed"] and b["high"] == 2.0 and b["low"] is None


def test_markdown_rendering_of_synthetic_records():
    text = render(_records(), date="2000-01-02", version="9.9", tests_label="tests/validation")
    lines = text.splitlines()
    assert lines[0] == "# Validation report"
    assert lines[2] == "Generated on 2000-01-02 by `python -m tools.validation_report`."
    assert "pkpd 9.9." in lines[4]
    assert "| failed | 1 |" in lines and "| xfailed | 1 |" in lines and "| not run | 1 |" in lines
    assert "| **total** | 3 |" in lines
    assert "Recorded comparisons: 4 (3 pass, 1 fail): **3 independent**, **1 calibration targets**." in lines
    # sections in the given order, module docstring quoted, pipes escaped, whitespace collapsed
    b = lines.index("## tests/validation/test_b.py")
    assert lines.index("## tests/validation/test_a.py") > b
    assert lines[b + 2:b + 5] == ["> Module B.", ">", "> Second paragraph."]
    i = lines.index("| `test_two[x\\|y]` | | | | | Second. | | **FAILED** |")
    assert lines[i + 1:i + 5] == [
        "| | C at 1 h (mg/L) | 1.809674836 | 1.80967483607 | ±1e-07 % | Gibaldi & Perrier | independent | pass |",
        "| | phenotype | IM | IM | exact | CPIC | independent | pass |",
        "| | fraction \\| controlled | 0.66 (worst of 2) | [0.5, 0.7] | interval | RAMPART | calibration target | pass |",
        "| | CL (L/h) | 3 | 2 | ±0.5 | Gibaldi & Perrier | independent | **fail** |",
    ]
    assert f"| `test_slow` | | | | | | | {NOT_RUN_SLOW} |" in lines
    assert "| `test_one` | | | | | One line docstring (Ref. 1). | | xfailed: known |" in lines
    assert listed_tests(text) == {"tests/validation/test_b.py::test_two[x|y]", "tests/validation/test_b.py::test_slow",
                                  "tests/validation/test_a.py::test_one"}
    # deterministic
    assert render(_records(), date="2000-01-02", version="9.9") == render(_records(), date="2000-01-02", version="9.9")


def test_check_ignores_the_date_and_detects_a_modified_file():
    text = render(_records(), date="2000-01-02", version="9.9")
    assert diff_reports(text, render(_records(), date="2031-12-31", version="9.9")) == []
    tampered = text.replace("| 1.809674836 |", "| 1.9 |")
    assert tampered != text
    diff = diff_reports(tampered, text)
    assert "-| | C at 1 h (mg/L) | 1.9 | 1.80967483607 | ±1e-07 % | Gibaldi & Perrier | independent | pass |" in diff
    assert diff_reports(text, render(_records(), date="2000-01-02", version="10.0"))  # the version is checked


def test_the_committed_report_is_checked_against_a_tampered_copy(tmp_path):
    """--check's comparison on the real report: a copy with one result changed is detected."""
    text = REPORT.read_text(encoding="utf-8")
    tampered = text.replace("| passed |", "| **FAILED** |", 1)
    assert diff_reports(text, text) == []
    assert diff_reports(tampered, text)
