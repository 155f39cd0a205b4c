"""Simulation API: regimens and datasets in, tidy results out."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd import ModelError, ParameterError
from pkpd.models import OneCompartment, OneCompartmentMM, OneCompartmentOral


def test_result_is_tidy_and_read_only():
    res = OneCompartment().simulate(pkpd.Bolus(100), [0, 1, 2], pd.DataFrame({"ID": ["a", "b"], "CL": [5, 10]}))
    frame = res.to_frame()
    assert list(frame.columns) == ["ID", "TIME", "CP", "CENTRAL"]
    assert frame["ID"].tolist() == ["a"] * 3 + ["b"] * 3
    np.testing.assert_allclose(frame["CP"], np.r_[2 * np.exp(-0.1 * np.arange(3)), 2 * np.exp(-0.2 * np.arange(3))])
    with pytest.raises(ValueError):
        res["CP"][0] = 1.0
    assert "subjects=2" in repr(res) and "<table" in res._repr_html_()


def test_times_keep_the_callers_order():
    res = OneCompartment().simulate(pkpd.Bolus(100), [5, 0, 1], {"CL": 5, "V": 50})
    np.testing.assert_allclose(res["CP"], 2 * np.exp(-0.1 * np.array([5, 0, 1])), rtol=1e-12)


def test_plot_draws_each_subject_and_labels_units():
    res = OneCompartment().simulate(pkpd.Bolus(100), np.linspace(0, 10, 11), pd.DataFrame({"ID": [1, 2], "CL": [5, 8]}))
    ax = res.plot()
    assert len(ax.lines) == 2 and ax.get_ylabel() == "CP (mg/L)" and ax.get_xlabel() == "time (h)"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), res["CP"][11:])


def test_plot_label_names_overlaid_regimens():
    """Issue 18: ``plot(ax=ax, label=...)`` raised "multiple values for keyword argument 'label'"."""
    model, times = OneCompartment(), np.linspace(0, 10, 11)
    ax = model.simulate(pkpd.Bolus(100), times).plot(label="loading")
    ax = model.simulate(pkpd.Bolus(50), times).plot(ax=ax, label="maintenance", color="k")
    assert [line.get_label() for line in ax.lines] == ["loading", "maintenance"]
    assert ax.lines[1].get_color() == "k" and ax.get_legend().get_title().get_text() == ""
    two = model.simulate(pkpd.Bolus(100), times, pd.DataFrame({"ID": [1, 2], "CL": [5, 8]}))
    assert [line.get_label() for line in two.plot(label="A").lines] == ["A, ID 1", "A, ID 2"]


def test_method_choice():
    with pytest.raises(ModelError, match="not linear"):
        OneCompartmentMM().simulate(pkpd.Bolus(100), [1], method="analytic")
    assert OneCompartmentMM().simulate(pkpd.Bolus(100), [1]).method == "ode"
    assert OneCompartment().simulate(pkpd.Bolus(100), [1]).method == "analytic"
    with pytest.raises(ValueError, match="method must be one of"):
        OneCompartment().simulate(pkpd.Bolus(100), [1], method="euler")
    with pytest.raises(ValueError, match="finite"):
        OneCompartment().simulate(pkpd.Bolus(100), [np.nan])


def test_simulate_dataset_predicts_every_record_in_order():
    """Indometacin: 25 mg IV bolus; predictions aligned with the dataset's rows."""
    data = pkpd.load_dataset("indometacin")
    params = {"CL": 5.0, "V": 10.0}
    res = pkpd.simulate(OneCompartment(), data, params)
    events = data.events
    assert len(res) == len(events) and (res.id == events["ID"].to_numpy()).all()
    expected = 25 / 10 * np.exp(-0.5 * events["TIME"].to_numpy())
    np.testing.assert_allclose(res["CP"], expected, rtol=1e-12)
    ode = pkpd.simulate(OneCompartment(), data, params, method="ode", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ode["CP"], expected, rtol=1e-7)


def test_simulate_dataset_with_per_subject_parameters():
    data = pkpd.load_dataset("theophylline")
    ids = data.ids
    params = pd.DataFrame({"ID": ids, "CL": np.linspace(2, 4, len(ids)), "V": 30.0, "KA": 1.5})
    res = pkpd.simulate(OneCompartmentOral(), data, params)
    frame = res.to_frame()
    first = frame[frame["ID"] == ids[0]]
    amt = data.doses.set_index("ID").loc[ids[0], "AMT"]
    t = first["TIME"].to_numpy()
    k = 2 / 30
    np.testing.assert_allclose(first["CP"], amt / 30 * 1.5 / (1.5 - k) * (np.exp(-k * t) - np.exp(-1.5 * t)),
                               rtol=1e-10)
    with pytest.raises(ParameterError, match="no parameters for ID"):
        pkpd.simulate(OneCompartmentOral(), data, params.iloc[1:])


@pytest.mark.parametrize("solver", ["dp5", "bdf", "radau", "lsoda"])
def test_every_ode_solver_matches_the_closed_form(solver):
    """Each solver of the batched engine (3 subjects, two-compartment infusion) equals the closed form to 1e-5."""
    from pkpd.models import TwoCompartment

    params = pd.DataFrame({"ID": [1, 2, 3], "CL": [3.0, 5.0, 8.0], "V1": 20.0, "Q": 10.0, "V2": [40.0, 60.0, 80.0]})
    dose = pkpd.Infusion(500, duration=2, ii=12, addl=2)
    times = np.linspace(0, 48, 49)
    exact = TwoCompartment().simulate(dose, times, params, method="analytic")["CP"]
    ode = TwoCompartment().simulate(dose, times, params, method="ode", solver=solver, rtol=1e-8, atol=1e-11)["CP"]
    np.testing.assert_allclose(ode, exact, rtol=1e-5, atol=1e-9)


def test_a_dataframe_is_read_as_read_nonmem_reads_it():
    """A table given to simulate is validated as a file is (issue 15): no zeros for what is not a simulation."""
    from pkpd import DatasetError

    good = pd.DataFrame({"id": [1, 1, 1], "time": [0.0, 1.0, 2.0], "amt": [100.0, 0, 0], "dv": [np.nan, 1, 1]})
    before = good.copy(deep=True)
    upper = good.rename(columns=str.upper)
    np.testing.assert_allclose(pkpd.simulate(OneCompartment(), good, {"CL": 5, "V": 50})["CP"],
                               pkpd.simulate(OneCompartment(), upper, {"CL": 5, "V": 50})["CP"])
    pd.testing.assert_frame_equal(good, before)
    bad = {
        "negative AMT": (upper.assign(AMT=[-100.0, 0, 0]), r"row 1, column AMT: value -100 is negative"),
        "EVID 7": (upper.assign(EVID=[1, 7, 0]), r"row 2, column EVID: value 7 is not a known event type"),
        "interleaved IDs": (upper.assign(ID=[1, 2, 1]), r"row 3, column ID: value 1 appears again"),
        "CMT beyond the model": (upper.assign(CMT=[1, 1, 2]), r"record 3 \(ID 1, TIME 2\): column CMT: value 2 is not"),
    }
    for name, (table, message) in bad.items():
        with pytest.raises(DatasetError, match=message):
            pkpd.simulate(OneCompartment(), table, {"CL": 5, "V": 50})
