"""Old import paths keep working after the package was cut into layers (pkpd._internal.moved)."""

import importlib
import subprocess
import sys

import pytest

import pkpd
from pkpd._internal.moved import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_an_old_path_is_the_module_at_its_new_path(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_names_of_the_population_and_trials_packages_still_resolve():
    from pkpd.population import PopulationFitResult, fit_population, map_estimate, npde, population_ofv, vpc
    from pkpd.trials import se_population

    assert (fit_population, map_estimate, npde, population_ofv, vpc) == (
        pkpd.fit_population, pkpd.map_estimate, pkpd.npde, pkpd.population_ofv, pkpd.vpc)
    assert PopulationFitResult is pkpd.PopulationFitResult
    assert se_population is importlib.import_module("pkpd.se.population").se_population
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        pkpd.population.nonsense


def test_the_synthetic_cohorts_module_is_reachable_as_an_attribute():
    # in a fresh interpreter, where nothing has imported pkpd.population.synthetic yet (the docs write
    # pkpd.population.synthetic.cohort after import pkpd)
    code = "import pkpd; print(callable(pkpd.population.synthetic.cohort))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True"]


def test_importing_the_old_nca_module_leaves_the_function_pkpd_nca():
    # in a fresh interpreter: importing the alias must not replace the function by the module
    code = "import pkpd, pkpd.nca, pkpd.fitting.fit; print(callable(pkpd.nca), pkpd.fitting is pkpd.estimation)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def test_an_old_submodule_is_not_loaded_twice():
    # pkpd.fitting is pkpd.estimation, so the path finder would find estimation/fit.py as "pkpd.fitting.fit" a
    # second time if the alias finder did not come first
    code = ("import sys, pkpd.fitting.fit, pkpd.estimation.fit; "
            "print(sys.modules['pkpd.fitting.fit'] is sys.modules['pkpd.estimation.fit'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
