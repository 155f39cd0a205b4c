"""Notebook views of the values a pharmacologist builds first (issue 18): a regimen and a population model show
their content as tables, and their text repr fits on a line or two."""

import pkpd
from pkpd.models import OneCompartmentOral
from pkpd.population import PopulationModel


def test_regimen_shows_one_row_per_dose_and_the_total():
    r = pkpd.Bolus(500, cmt="DEPOT") + pkpd.Infusion(250, time=12, duration=1, ii=12, addl=4, cmt="CENTRAL")
    html = r._repr_html_()
    assert "2 dose(s), 1750 mg in total" in html
    assert html.count("<tr") == 1 + 2 and "DEPOT" in html and "CENTRAL" in html   # header + two doses


def test_population_model_shows_theta_omega_and_error():
    pm = PopulationModel(OneCompartmentOral(), {"KA": 1.0, "CL": 2.0, "V": 10.0}, {"CL": 0.1, "V": 0.2},
                         pkpd.AdditiveError(0.5), fixed=("KA",))
    text = repr(pm)
    assert text.startswith("PopulationModel(OneCompartmentOral; theta: KA=1, CL=2, V=10; ")
    assert "omega (variances): CL=0.1, V=0.2" in text and "AdditiveError" in text and "fixed=('KA',)" in text
    assert "\n" not in text
    html = pm._repr_html_()
    assert "fixed effects" in html and "Omega" in html and html.count("log") == 3
