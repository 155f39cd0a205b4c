"""Virtual populations: reproducibility, chunk independence, bad input."""

import pytest

import pkpd


def test_same_seed_same_subjects_whatever_n_and_chunks():
    a = pkpd.Population.virtual(3000, seed=5).covariates
    b = pkpd.Population.virtual(1500, seed=5).covariates
    assert a.head(1500).equals(b)
    assert not a.equals(pkpd.Population.virtual(3000, seed=6).covariates)
    pop = pkpd.Population.virtual(3000, seed=5)
    chunk = pop.chunk(1000, 2000)
    assert len(chunk) == 1000 and chunk.covariates["ID"].iloc[0] == 1001 and chunk.seed == 5


def test_a_seed_is_recorded_when_none_is_given():
    pop = pkpd.Population.virtual(50)
    assert pkpd.Population.virtual(50, seed=pop.seed).covariates.equals(pop.covariates)


def test_describe_and_no_ancestry():
    pop = pkpd.Population.virtual(200, ancestry=None, seed=1)
    assert "CYP2C19" not in pop.covariates and set(pop.describe().index) >= {"AGE", "WT", "female_fraction"}
    assert "Virtual population" in pop._repr_html_()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=0), pkpd.ParameterError, "positive integer"),
    (dict(n=10, sex=1.5), pkpd.ParameterError, r"fraction female.*1.5"),
    (dict(n=10, age=(45, 15, 90, 18)), pkpd.ParameterError, "lower < upper"),
    (dict(n=10, weight=(70, -1, 40, 120)), pkpd.ParameterError, "sd > 0"),
    (dict(n=10, ancestry="Martian"), pkpd.ModelError, "ancestries with data"),
    (dict(n=10, genotypes={"CYP2C9": {"*1": 0.7, "*3": 0.2}}), pkpd.ModelError, "sum to 1"),
    (dict(n=10, genotypes={"CYP2C9": {"*1": 0.5, "*99": 0.5}}), pkpd.ModelError, "CYP2C9"),
])
def test_bad_input_names_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        pkpd.Population.virtual(**kwargs)
