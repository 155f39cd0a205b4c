"""Values are values: models and components are immutable, diagnostics and weight scaling change no argument."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from functools import cached_property
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.models import Component, ComposedModel, Model, OneCompartment, OneCompartmentOral, compose
from pkpd.models._base import set_cached
from pkpd.models.effects import EffectCompartment
from pkpd.physiology import Chloride


# -- models and components are frozen ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, name", [
    (lambda: OneCompartment(drug="MDZ"), "drug"),
    (lambda: OneCompartment(), "states"),
    (lambda: compose(OneCompartment(drug="MDZ"), EffectCompartment("MDZ")), "stiff"),
    (lambda: EffectCompartment("MDZ"), "prefix"),
    (lambda: Chloride(), "parameters"),
    (lambda: Chloride(), "brand_new_attribute"),
])
def test_assigning_an_attribute_after_construction_raises(make, name):
    obj = make()
    before = getattr(obj, name, None)
    with pytest.raises(dataclasses.FrozenInstanceError, match=r"is immutable.*replace\(") as info:
        setattr(obj, name, "X")
    assert isinstance(info.value, AttributeError)
    assert getattr(obj, name, None) == before
    with pytest.raises(AttributeError, match="is immutable"):
        delattr(obj, name)


def test_the_composed_models_components_are_frozen_too():
    model = compose(OneCompartmentOral(drug="CBZ"), EffectCompartment("CBZ", ke0=1.0))
    for c in model.components:
        with pytest.raises(dataclasses.FrozenInstanceError):
            c.prefix = "X"


def test_subclass_init_may_set_attributes_before_and_after_super_init():
    class Scaled(OneCompartment):
        def __init__(self, factor, drug=None):
            self.factor = factor
            super().__init__(drug)
            self.twice = 2 * factor            # still constructing: allowed

    m = Scaled(3.0, drug="MDZ")
    assert (m.factor, m.twice, m.drug) == (3.0, 6.0, "MDZ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.factor = 4.0
    assert m.replace(factor=4.0).twice == 8.0 and m.twice == 6.0


# -- class-level containers are read-only -----------------------------------------------------------------------
def test_class_level_mappings_cannot_be_mutated():
    assert isinstance(Component.reads, MappingProxyType) and isinstance(Component.dosing, MappingProxyType)
    with pytest.raises(TypeError):
        Component.reads["X.Y"] = 1.0
    with pytest.raises(TypeError):
        Component.dosing["F"] = {}
    assert dict(Component.reads) == {} and dict(Component.dosing) == {}


def test_a_subclass_class_level_dict_or_list_is_made_read_only():
    class Site(Component):
        prefix = "SITE"
        reads = {"MDZ.CP": None}
        dosing = {"F": {"CE": "F1"}}
        tags = ["a", "b"]
        kinds = {"x"}

    assert isinstance(Site.reads, MappingProxyType) and Site.reads == {"MDZ.CP": None}
    assert isinstance(Site.dosing["F"], MappingProxyType)
    assert Site.tags == ("a", "b") and Site.kinds == frozenset({"x"})
    with pytest.raises(TypeError):
        Site.reads["OTHER.CP"] = 0.0
    with pytest.raises(TypeError):
        Site().dosing["F"]["CE"] = "F2"
    with pytest.raises(AttributeError):
        Site.tags.append("c")
    assert Component.reads == {}                      # the base class is untouched


def test_every_model_and_component_class_in_the_package_holds_no_mutable_class_state():
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(pkpd.__path__, "pkpd."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for base in (Model, Component):
        for cls in (base, *subclasses(base)):
            for name, value in vars(cls).items():
                if not name.startswith("__"):
                    assert not isinstance(value, (dict, list, set)), f"{cls.__qualname__}.{name} is mutable"


# -- replace ----------------------------------------------------------------------------------------------------
def test_replace_gives_a_new_model_with_the_change_and_leaves_the_original():
    m = OneCompartment(drug="MDZ")
    m2 = m.replace(drug="LZP")
    assert m2 is not m and type(m2) is OneCompartment
    assert m2.drug == "LZP" and m.drug == "MDZ"
    assert m.replace() is not m and m.replace().drug == "MDZ"
    with pytest.raises(pkpd.ModelError):
        m.replace(drug="not a name")               # validated by the constructor
    with pytest.raises(TypeError, match="unexpected argument 'states'"):
        m.replace(states=("X",))


def test_replace_on_components_and_composed_models_recomputes_derived_attributes():
    ec = EffectCompartment("MDZ")
    ec2 = ec.replace(source="CBRAIN_U")
    assert ec2.reads == {"MDZ.CBRAIN_U": None} and ec.reads == {"MDZ.CP": None}
    ch = Chloride(KLOSS_INFL=2.0)                          # keyword arguments collected by **defaults
    ch2 = ch.replace(KLOSS_INFL=3.0)
    by_name = {p.name: p.default for p in ch2.parameters}
    assert by_name["KLOSS_INFL"] == 3.0 and {p.name: p.default for p in ch.parameters}["KLOSS_INFL"] == 2.0
    model = compose(OneCompartment(drug="MDZ"), ec)
    tracked = model.replace(mass_balance=True)
    assert "MDZ.ELIMINATED" in tracked.states and "MDZ.ELIMINATED" not in model.states


def test_constructor_arguments_are_the_objects_own():
    gen = (c for c in (OneCompartment(drug="MDZ"), EffectCompartment("MDZ")))
    model = ComposedModel(gen)                        # an iterator is kept as a tuple: replace still works
    assert model.replace(mass_balance=True).states[1] == "MDZ.ELIMINATED"


def test_copies_and_pickles_stay_frozen():
    model = compose(OneCompartmentOral(drug="CBZ"), EffectCompartment("CBZ", ke0=1.0))
    for other in (copy.copy(model), copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert other.states == model.states
        with pytest.raises(dataclasses.FrozenInstanceError):
            other.stiff = True
    r1 = model.simulate(pkpd.Bolus(100, cmt="CBZ.DEPOT"), [1.0, 2.0])
    r2 = copy.deepcopy(model).simulate(pkpd.Bolus(100, cmt="CBZ.DEPOT"), [1.0, 2.0])
    np.testing.assert_array_equal(r1["CBZ.CP"], r2["CBZ.CP"])


def test_caches_go_through_the_documented_escape():
    class Cached(OneCompartment):
        @cached_property
        def expensive(self):
            return len(self.states) * 10

    m = Cached()
    assert m.expensive == 10 and m.expensive == 10           # cached_property writes the instance dict
    assert set_cached(m, "_compiled", "code") == "code" and m._compiled == "code"
    with pytest.raises(dataclasses.FrozenInstanceError):
        m._compiled = "other"


# -- diagnose leaves the objective alone ------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["FOCEI", "FO"])
def test_diagnose_leaves_the_objective_unchanged(method):
    from pkpd.estimation._objective import Objective, PopData
    from pkpd.estimation.population_fit import diagnose

    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1, "KA": 0.4},
                              pkpd.AdditiveError(0.7))
    data = pkpd.load_dataset("theophylline")
    objective = Objective(pm, PopData(pm, data, "auto", "M1", None), method)
    theta, omega, sigma = pm.theta_values, pm.omega_matrix, pm.error_parameters
    objective(theta, omega, sigma)
    eta, last, converged = objective.eta.copy(), objective._anchors, objective.converged
    frame, shrink, ebes = diagnose(objective, theta, omega, sigma, method)
    assert objective.method == method
    np.testing.assert_array_equal(objective.eta, eta)
    assert objective._anchors is last and objective.converged == converged
    assert ebes.shape == eta.shape and np.all(np.isfinite(frame["CWRES"]))
    assert set(shrink) == {"eta_CL", "eta_KA", "epsilon"}
    if method == "FO":
        assert not np.allclose(ebes, 0.0)                 # EBEs searched as FOCE-I does, on a copy


def test_with_method_is_a_copy():
    from pkpd.estimation._objective import Objective, PopData

    pm = pkpd.PopulationModel(OneCompartmentOral(), {"CL": 2.8, "V": 32.0, "KA": 1.5}, {"CL": 0.1, "KA": 0.4},
                              pkpd.AdditiveError(0.7))
    objective = Objective(pm, PopData(pm, pkpd.load_dataset("theophylline"), "auto", "M1", None), "FOCE")
    other = objective.with_method("foce-i")
    assert other is not objective and other.method == "FOCEI" and objective.method == "FOCE"
    with pytest.raises(pkpd.ParameterError):
        objective.with_method("LAPLACE")


# -- scale_to_weight returns a new mapping ----------------------------------------------------------------------
def test_scale_to_weight_leaves_its_input_unchanged():
    from pkpd.se.scenarios import scale_to_weight

    params = {"LZP.CL": np.array([4.0, 4.0]), "LZP.V1": np.array([50.0, 60.0]), "SEIZURE.E0": np.array([1.0, 1.0])}
    before = copy.deepcopy(params)
    out = scale_to_weight(params, ("lorazepam",), [70.0, 140.0])
    assert out is not params
    assert params.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(params[k], before[k])
    np.testing.assert_allclose(out["LZP.CL"], [4.0, 8.0])
    np.testing.assert_array_equal(out["SEIZURE.E0"], before["SEIZURE.E0"])

    frame = pd.DataFrame({k: v.copy() for k, v in params.items()})
    frame_before = frame.copy(deep=True)
    scaled = scale_to_weight(frame, ("lorazepam",), [70.0, 140.0])
    pd.testing.assert_frame_equal(frame, frame_before)
    assert scaled is not frame and scaled["LZP.CL"].tolist() == [4.0, 8.0]

    proxy = MappingProxyType(dict(before))                   # any mapping, even a read-only one
    assert scale_to_weight(proxy, ("lorazepam",), [70.0, 140.0])["LZP.CL"].tolist() == [4.0, 8.0]
