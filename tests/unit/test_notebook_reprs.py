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
    assert "fixed effects" in html and "Omega" in html and html.count("<td>log</td>") == 3


def test_drug_shows_its_parameters_routes_and_sources():
    from pkpd import drugs

    mdz = drugs.midazolam()
    html = mdz._repr_html_()
    assert "<b>midazolam</b> (prefix MDZ" in html and "routes: buccal, im, intranasal, iv, oral" in html
    for name, value in mdz.params.items():
        assert f"<th>{name}</th>" in html and f"{value:.4g}" in html


def test_population_fit_text_repr_is_one_line_without_the_etas():
    """Issue 18: the text repr of a population fit dumped every subject's ETAs (the dataclass repr)."""
    import warnings

    pm = PopulationModel(OneCompartmentOral(), {"KA": 1.5, "CL": 0.04, "V": 0.5}, {"CL": 0.05},
                         pkpd.AdditiveError(0.7))
    data = pkpd.load_dataset("theophylline")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pkpd.fit_population(pm, data, covariance=False, progress=False)
    text = repr(fit)
    assert text.startswith(f"PopulationFitResult(FOCEI: OFV {fit.ofv:.4f}, 12 subjects, ")
    assert "\n" not in text and "ETA_" not in text and f"CL={fit.theta['CL']:.4g}" in text
