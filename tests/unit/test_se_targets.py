"""The SE targets file: fixed before calibration, every target sourced, fewer free parameters than targets."""

import re

from pkpd.se.targets import FREE_PARAMETERS, KINDS, load_targets


def test_every_target_is_sourced_and_of_a_known_kind():
    targets = load_targets()
    assert len({t.id for t in targets}) == len(targets)
    for t in targets:
        assert t.kind in KINDS, t.id
        assert re.search(r"(19|20)\d\d", t.source), t.id           # a primary source with its year
        assert (t.value is None) != (t.value_range is None), t.id


def test_fewer_free_parameters_than_calibration_targets():
    calibration = [t for t in load_targets() if t.kind == "calibration"]
    assert len(FREE_PARAMETERS) < len(calibration)


def test_the_va_cooperative_arms_are_predictions_not_fits():
    kinds = {t.id: t.kind for t in load_targets()}
    assert {kinds[k] for k in ("VA_PHENOBARBITAL", "VA_DIAZEPAM_PHENYTOIN", "VA_LORAZEPAM", "VA_PHENYTOIN")} == {
        "validation"}
