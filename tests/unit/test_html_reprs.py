"""Every public value type has a notebook (HTML) repr and a concise text repr; user text in them is escaped."""

import numpy as np
import pytest

import pkpd
from pkpd.models import OneCompartmentOral
from pkpd.physiology import EnzymeTurnover, genetics
from pkpd.population import synthetic
from pkpd.trials import Dose, TrialDesign


def _values():
    cohort = synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), 3,
                              params={"CL": 3.0, "V": 30.0, "KA": 1.0}, iiv={"CL": 0.3},
                              error=pkpd.ProportionalError(0.1), seed=1)
    design = TrialDesign({"A <b>": [Dose("CENTRAL", 10)]}, times=np.linspace(0, 4, 5),
                         endpoints=[pkpd.endpoints.terminated_by(4.0)])
    return {
        "Bolus": pkpd.Bolus(100, cmt="DEPOT", ii=12, addl=3),
        "Infusion": pkpd.Infusion(100, duration=2),
        "Target": pkpd.Target.trough(2.0),
        "Phenotype": genetics.phenotype("CYP2C19", "*2/*2"),
        "trials.Dose": Dose("CENTRAL", 10),
        "TrialDesign": design,
        "SyntheticCohort": cohort,
        "Parameter": OneCompartmentOral().parameters[0],
        "Component": EnzymeTurnover(),
    }


@pytest.mark.parametrize("name", list(_values()))
def test_html_and_text_reprs(name):
    value = _values()[name]
    page = value._repr_html_()
    assert page.startswith("<b>") and "<table" in page
    text = repr(value)
    assert "\n" not in text and len(text) < 200


def test_the_html_shows_the_values_and_escapes_user_text():
    values = _values()
    assert "<th>amt</th><td>100</td>" in values["Bolus"]._repr_html_()
    assert "<td>poor metabolizer</td>" in values["Phenotype"]._repr_html_()
    design = values["TrialDesign"]._repr_html_()
    assert "<td>A &lt;b&gt;</td><td>doses</td><td>1</td>" in design and "terminated_by_4h" in design
    assert "<th>name</th><td>CL</td>" in values["Parameter"]._repr_html_()
    assert "<td>KDEG_LIVER</td><td>0.0158</td><td>1/h</td>" in values["Component"]._repr_html_()
    assert "3 subjects" in values["SyntheticCohort"]._repr_html_()
