"""Doses and regimens (pkpd.dosing) and their event tables."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import pkpd

from pkpd.dosing import Bolus, Infusion, Regimen
from pkpd.errors import DatasetError
from pkpd.io import read_nonmem

COLUMNS = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS", "MDV", "DV"]


# ---- construction and validation ---------------------------------------------------------------
def test_bolus_defaults_and_normalised_types():
    b = Bolus(100)
    assert (b.amt, b.time, b.cmt, b.ii, b.addl, b.ss) == (100.0, 0.0, None, 0.0, 0, 0)
    assert isinstance(b.amt, float) and isinstance(b.addl, int)
    assert Bolus(100) == Bolus(100.0)
    assert Bolus(np.float64(5), cmt=np.int64(2), addl=np.int64(1), ii=4).cmt == 2


def test_doses_are_frozen():
    b = Bolus(100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.amt = 5
    i = Infusion(10, duration=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        i.rate = 5


def test_oral_dose_is_a_bolus_into_depot():
    e = Bolus(500, cmt="DEPOT").to_events()
    assert e["CMT"].tolist() == ["DEPOT"] and e["RATE"].tolist() == [0.0]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(amt=-1), "amt"),
        (dict(amt=float("nan")), "amt"),
        (dict(amt="ten"), "amt"),
        (dict(amt=1, time=float("inf")), "time"),
        (dict(amt=1, ii=-2), "ii"),
        (dict(amt=1, addl=2), "addl"),  # addl without ii
        (dict(amt=1, ii=12, addl=1.5), "addl"),
        (dict(amt=1, ii=12, addl=-1), "addl"),
        (dict(amt=1, ss=3, ii=12), "ss"),
        (dict(amt=1, ss=1), "ss"),  # steady state needs an interval
        (dict(amt=1, cmt=0), "cmt"),
        (dict(amt=1, cmt=-1), "cmt"),
        (dict(amt=1, cmt=2.5), "cmt"),
        (dict(amt=1, cmt=""), "cmt"),
        (dict(amt=1, cmt=True), "cmt"),
    ],
)
def test_bolus_invalid(kwargs, field):
    with pytest.raises(DatasetError, match=rf"Bolus: .*{field}") as info:
        Bolus(**kwargs)
    # the offending value is named too
    value = kwargs.get(field, kwargs.get("addl"))
    assert repr(value) in str(info.value) or str(value) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        (dict(amt=100), "exactly one of duration and rate"),
        (dict(amt=100, duration=1, rate=100), "exactly one of duration and rate"),
        (dict(amt=100, duration=0), "duration=0"),
        (dict(amt=100, rate=-5), "rate=-5"),
        (dict(amt=0, duration=1), "amt=0"),
        (dict(amt=0, rate=5), "amt=0"),  # a rate without amount only at steady state
        (dict(amt=100, rate=5, ss=1), "ss=1 with ii=0"),  # SS with ii=0 must be a constant infusion (amt=0)
        (dict(amt=0, duration=2, ss=1), "ss=1 with ii=0"),
        (dict(amt=100, rate=5, addl=3), "addl=3"),
    ],
)
def test_infusion_invalid(kwargs, text):
    with pytest.raises(DatasetError, match=r"Infusion: ") as info:
        Infusion(**kwargs)
    assert text in str(info.value)


def test_infusion_rate_and_duration():
    by_duration = Infusion(600, duration=2)
    assert by_duration.infusion_rate == 300.0 and by_duration.infusion_duration == 2.0
    by_rate = Infusion(600, rate=200)
    assert by_rate.infusion_rate == 200.0 and by_rate.infusion_duration == 3.0
    constant = Infusion(0, rate=5, ss=1)
    assert constant.infusion_duration == math.inf and constant.infusion_rate == 5.0
    ss_repeated = Infusion(100, rate=50, ss=1, ii=12)
    assert ss_repeated.infusion_duration == 2.0


# ---- regimens ---------------------------------------------------------------------------------
def test_addition_builds_sorted_regimen():
    a, b, c = Bolus(1, time=10), Bolus(2, time=0), Infusion(3, duration=1, time=5)
    r = a + b
    assert isinstance(r, Regimen) and [d.time for d in r] == [0.0, 10.0]
    r2 = r + c
    assert [d.amt for d in r2] == [2.0, 3.0, 1.0]
    r3 = c + r
    assert r3 == r2
    assert (r + Regimen([c])) == r2
    assert sum([a, b, c]) == r2
    assert sum([r, Regimen([c])]) == r2
    assert len(r2) == 3 and r2[0] == b


def test_sorting_is_stable_at_equal_times():
    first, second = Bolus(1, cmt="DEPOT"), Bolus(2, cmt="CENTRAL")
    assert list(first + second) == [first, second]
    assert list(second + first) == [second, first]


def test_regimen_is_frozen_and_hashable():
    r = Regimen([Bolus(1)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.doses = ()
    assert hash(r) == hash(Regimen([Bolus(1)]))
    assert isinstance(r.doses, tuple)


def test_regimen_rejects_non_doses():
    with pytest.raises(DatasetError, match="dose 2"):
        Regimen([Bolus(1), 5])
    with pytest.raises(TypeError):
        Bolus(1) + 5


def test_regimen_repr_round_trips():
    r = Bolus(100, cmt="DEPOT", ii=12, addl=2) + Infusion(50, rate=25, time=1)
    assert eval(repr(r)) == r
    assert repr(Regimen()) == "Regimen([])"


def test_total_amount():
    assert (Bolus(100, ii=12, addl=3) + Infusion(50, duration=1)).total_amount == 450.0
    assert Regimen().total_amount == 0.0
    assert Regimen([Infusion(0, rate=2, ss=1)]).total_amount == math.inf


# ---- event tables -----------------------------------------------------------------------------
def test_to_events_columns_and_values():
    r = Bolus(100, cmt="DEPOT", ii=12, addl=3) + Infusion(60, duration=2, time=1, cmt="CENTRAL")
    e = r.to_events(id=5)
    assert list(e.columns) == COLUMNS
    assert e["ID"].tolist() == [5, 5]
    assert e["EVID"].tolist() == [1, 1] and e["MDV"].tolist() == [1, 1]
    assert e["RATE"].tolist() == [0.0, 30.0]
    assert e["CMT"].tolist() == ["DEPOT", "CENTRAL"]
    assert e["II"].tolist() == [12.0, 0.0] and e["ADDL"].tolist() == [3, 0]
    assert e["DV"].isna().all()
    for col in ("EVID", "ADDL", "SS", "MDV"):
        assert e[col].dtype == np.int64
    for col in ("TIME", "AMT", "RATE", "II", "DV"):
        assert e[col].dtype == np.float64


def test_to_events_numeric_cmt_is_int_column():
    e = (Bolus(1, cmt=1) + Bolus(1, cmt=2, time=1)).to_events()
    assert e["CMT"].dtype == np.int64


def test_to_events_is_canonical():
    """The engine and read_nonmem agree on the table a regimen produces."""
    r = Bolus(100, cmt="DEPOT", ii=12, addl=3, ss=1) + Infusion(50, rate=25, time=2) + Infusion(0, rate=3, ss=2)
    for id_ in (1, "pt-7"):
        e = r.to_events(id=id_)
        assert read_nonmem(e).events.equals(e)


def test_empty_regimen_events():
    e = Regimen().to_events()
    assert list(e.columns) == COLUMNS and len(e) == 0


def test_from_events_round_trip():
    r = (
        Bolus(100, cmt="DEPOT", ii=12, addl=3)
        + Infusion(50, rate=25, time=2, cmt=2)
        + Infusion(0, rate=3, ss=1)
        + Bolus(10, time=30, ss=2, ii=8)
    )
    assert Regimen.from_events(r.to_events()) == r
    assert Regimen.from_events(r.to_events(id="A")) == r


def test_from_events_duration_comes_back_as_rate():
    r = Regimen([Infusion(600, duration=2)])
    back = Regimen.from_events(r.to_events())
    assert back == Regimen([Infusion(600, rate=300)])
    assert back[0].infusion_duration == 2.0


def test_from_events_ignores_observations_and_reads_a_dataset():
    table = pd.DataFrame(
        {"ID": 1, "TIME": [0, 1, 2, 12], "AMT": [100, 0, 0, 100], "DV": [np.nan, 4.0, 3.0, np.nan], "CMT": [1, 2, 2, 1]}
    )
    snapshot = table.copy(deep=True)
    r = Regimen.from_events(table)
    assert r == Bolus(100, cmt=1) + Bolus(100, time=12, cmt=1)
    assert Regimen.from_events(read_nonmem(table)) == r
    pd.testing.assert_frame_equal(table, snapshot)


def test_from_events_default_compartment():
    """A record without CMT (NONMEM: CMT 0) doses the default dose compartment: ``cmt=None``, written back as 0."""
    table = pd.DataFrame({"ID": 1, "TIME": [0.0], "AMT": [5.0]})
    assert Regimen.from_events(table) == Regimen([Bolus(5)])
    assert Regimen([Bolus(5)]).to_events()["CMT"].tolist() == [0]


def test_a_dose_without_compartment_goes_to_the_default_dose_compartment():
    """Issue 18: ``OneCompartmentOral().simulate(Bolus(100))`` dosed CENTRAL, so the "oral" model behaved as IV.
    As a NONMEM record without CMT and mrgsolve's ``ev()``, the dose goes to the first compartment (DEPOT);
    the same dose in a dataset with CMT 0 gives the same prediction."""
    from pkpd.models import OneCompartment, OneCompartmentOral

    p, times = {"KA": 1.0, "CL": 2.0, "V": 10.0}, [0.0, 1.0, 4.0]
    oral = OneCompartmentOral().simulate(Bolus(100), times, p)
    np.testing.assert_array_equal(oral["CP"], OneCompartmentOral().simulate(Bolus(100, cmt="DEPOT"), times, p)["CP"])
    assert oral["CP"][0] == 0.0                                       # nothing in CENTRAL at the time of the dose
    iv = OneCompartment().simulate(Bolus(100), times, {"CL": 2.0, "V": 10.0})
    assert iv["CP"][0] == 10.0                                        # an IV model's first compartment is CENTRAL
    data = pd.DataFrame({"ID": 1, "TIME": [0.0, 1.0, 4.0], "AMT": [100.0, 0, 0], "EVID": [1, 0, 0],
                         "CMT": [0, 2, 2], "DV": [np.nan, 1.0, 1.0]})
    fit_table = pkpd.simulate(OneCompartmentOral(), data, p)
    np.testing.assert_allclose(fit_table["CP"][1:], oral["CP"][1:], rtol=1e-12)


def test_a_composed_model_has_no_default_dose_compartment():
    """A composed model's first state is whichever component comes first (here the seizure's activity), so a
    dose without a compartment is an error naming the candidates, not a silent dose into that state."""
    from pkpd.se import scenarios

    model = scenarios.se_model(("midazolam",))
    assert model.states[0] == "SEIZURE.ACTIVITY"
    with pytest.raises(DatasetError, match=r"record 1 .*column CMT: no compartment; .*MDZ\.DEPOT, MDZ\.CENTRAL"):
        model.simulate(Bolus(10), [0.0, 1.0])


def test_from_events_errors():
    two = pd.concat([Bolus(1).to_events(id=1), Bolus(1).to_events(id=2)], ignore_index=True)
    with pytest.raises(DatasetError, match="2 subjects"):
        Regimen.from_events(two)
    reset = pd.DataFrame({"ID": 1, "TIME": [0, 5], "EVID": [1, 3], "AMT": [10, 0]})
    with pytest.raises(DatasetError, match=r"row 2, column EVID: value 3"):
        Regimen.from_events(reset)
    modelled = pd.DataFrame({"ID": 1, "TIME": [0], "AMT": [10], "RATE": [-2]})
    with pytest.raises(DatasetError, match=r"row 1, column RATE: value -2"):
        Regimen.from_events(modelled)
