"""docs/models.md stays in step with the code.

The model reference names every model, component, drug, covariate effect and error model the package
exports, and its tables of default values (marked by HTML comments ``<!-- params: midazolam -->``,
``<!-- routes: ... -->``, ``<!-- defaults: ... -->``, ``<!-- activity: ... -->``) must equal the code's
values (relative tolerance 1e-6) and units. A default changed in the code without the document (or the
reverse) fails here. The calibrated status-epilepticus quantities (``Seizure``, ``pkpd.se.scenarios``,
``pkpd.se.calibration``) are deliberately not tabulated, so they are not checked.
"""

from __future__ import annotations

import inspect
import math
import re
import unicodedata
from pathlib import Path

import pytest

import pkpd
from pkpd import drugs, models, physiology
from pkpd.physiology import genetics
from pkpd.models import effects as ppd
from pkpd.population.residual import ResidualError
from pkpd.population import covariates as covariate_module

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "models.md"
REL_TOL = 1e-6

MARKER = re.compile(r"^<!-- (params|routes|defaults|activity): (\S+) -->\s*$")


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tables(doc) -> dict:
    """``{(kind, key): [row cells, ...]}`` for every marked table (header and separator removed)."""
    out: dict = {}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        assert key not in out, f"docs/models.md: table {key} appears twice"
        rows = []
        j = i + 1
        while j < len(lines) and lines[j].startswith("|"):
            rows.append([c.strip() for c in lines[j].strip().strip("|").split("|")])
            j += 1
        assert len(rows) >= 3, f"docs/models.md: the table after '{line}' has no rows"
        assert set(rows[1][0]) <= set("-: "), f"docs/models.md: the table after '{line}' has no header separator"
        out[key] = rows[2:]
    return out


def _name(cell: str) -> str:
    return cell.strip().strip("`")


def _number(cell: str, where: str) -> float:
    try:
        return float(cell.replace("−", "-"))
    except ValueError:
        raise AssertionError(f"docs/models.md {where}: {cell!r} is not a number") from None


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _compare(rows, expected: dict, units: dict | None, where: str):
    """Rows ``| name | value | unit | ...`` against ``{name: value}`` (and ``{name: unit}``), both ways."""
    seen = {}
    for row in rows:
        name = _name(row[0])
        assert name not in seen, f"docs/models.md {where}: {name} listed twice"
        seen[name] = row
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    assert not missing, f"docs/models.md {where}: parameters missing from the table: {missing}"
    assert not extra, f"docs/models.md {where}: parameters not in the code: {extra}"
    for name, row in seen.items():
        value = _number(row[1], f"{where} {name}")
        assert _close(value, expected[name]), (
            f"docs/models.md {where}: {name} = {row[1]} but the code has {expected[name]!r}")
        if units is not None:
            assert row[2] == units[name], f"docs/models.md {where}: {name} unit {row[2]!r}, code {units[name]!r}"


# -- names -----------------------------------------------------------------------------------------
def _public_classes(module) -> list[str]:
    return [n for n in module.__all__ if inspect.isclass(getattr(module, n))]


def test_every_model_class_is_documented(doc):
    names = _public_classes(models)
    assert {"OneCompartment", "TwoCompartmentOral", "Prodrug", "ComposedModel"} <= set(names)
    missing = [n for n in names if f"`{n}" not in doc]
    assert not missing, f"docs/models.md does not document {missing}"


def test_every_component_class_is_documented(doc):
    names = _public_classes(physiology) + _public_classes(ppd) + ["Drug", "Metabolite"]
    missing = [n for n in names if f"`{n}" not in doc]
    assert not missing, f"docs/models.md does not document {missing}"


def test_every_pd_and_chloride_function_is_documented(doc):
    names = [n for n in ppd.__all__ if inspect.isfunction(getattr(ppd, n))] + ["hill_fraction"]
    names += [n for n in physiology.__all__ if inspect.isfunction(getattr(physiology, n))]
    missing = [n for n in names if f"`{n}(" not in doc]
    assert not missing, f"docs/models.md does not document {missing}"


def test_every_drug_factory_is_documented(doc, tables):
    assert len(drugs.LIBRARY) >= 16
    for name in drugs.LIBRARY:
        assert f"### `{name}`" in doc, f"docs/models.md has no section for drugs.{name}"
        assert ("params", name) in tables, f"docs/models.md has no parameter table for drugs.{name}"
        assert ("routes", name) in tables, f"docs/models.md has no route table for drugs.{name}"


def test_every_covariate_effect_and_error_model_is_documented(doc):
    effects = [n for n in pkpd.__all__
               if inspect.isfunction(getattr(pkpd, n)) and getattr(covariate_module, n, None) is getattr(pkpd, n)]
    errors = [n for n in pkpd.__all__
              if inspect.isclass(getattr(pkpd, n)) and issubclass(getattr(pkpd, n), ResidualError)]
    assert set(effects) == {"power", "exponential", "linear", "categorical"}
    assert set(errors) == {"AdditiveError", "ProportionalError", "CombinedError", "ExponentialError"}
    missing = [n for n in effects if f"`{n}(" not in doc] + [n for n in errors if f"`{n}(" not in doc]
    assert not missing, f"docs/models.md does not document {missing}"


def test_population_methods_and_blq_are_documented(doc):
    for word in ("FOCE-I", "FOCE", "FO", "M3", "linear-up/log-down", "lambda_z"):
        assert word in doc


def test_links(doc):
    assert "(validation.md)" in doc, "docs/models.md must link to validation.md"
    slugs = set()
    for line in doc.splitlines():
        m = re.match(r"^#{1,6} (.+)$", line)
        if m:   # GitHub's anchor: lower case, punctuation other than '-' and '_' dropped, spaces to '-'
            text = unicodedata.normalize("NFC", m.group(1)).lower()
            slugs.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    anchors = set(re.findall(r"\]\(#([^)]+)\)", doc))
    broken = sorted(anchors - slugs)
    assert not broken, f"docs/models.md links to missing headings {broken}"


def test_only_known_tables(tables):
    known = {"params": set(drugs.LIBRARY), "routes": set(drugs.LIBRARY), "activity": set(genetics.GENES),
             "defaults": set(COMPONENTS)}
    for kind, key in tables:
        assert key in known[kind], f"docs/models.md: unknown table '<!-- {kind}: {key} -->'"
    for gene in genetics.GENES:
        assert ("activity", gene) in tables
    for key in COMPONENTS:
        assert ("defaults", key) in tables, f"docs/models.md has no defaults table for {key}"


# -- values ----------------------------------------------------------------------------------------
def _drug_expected(name: str):
    """What the drug's table must list: ``Drug.params`` (default route) plus the parameters the drug exerts
    on CYP3A4 (``cyp3a4(inducers=[drug])``) or on P-gp (``pgp_probe(inhibitors=[drug])``), with units."""
    d = drugs.LIBRARY[name]()
    model = pkpd.compose(*d.components())
    values = dict(d.params)
    units = {k: model.parameter(k).unit for k in values}
    extra = []
    if d.induction or d.inactivation:
        extra.append(drugs.cyp3a4(inducers=[d] if d.induction else [], inactivators=[d] if d.inactivation else []))
    if d.pgp_inhibition is not None:
        extra.append(drugs.pgp_probe(inhibitors=[d]).brain)
    for comp in extra:
        for p in comp.parameters:
            if p.name.endswith(f"_{d.prefix}"):
                values[f"{comp.prefix}.{p.name}"] = p.default
                units[f"{comp.prefix}.{p.name}"] = p.unit
    return d, values, units


@pytest.mark.parametrize("name", list(drugs.LIBRARY))
def test_drug_parameter_table_matches_code(tables, name):
    _, values, units = _drug_expected(name)
    _compare(tables[("params", name)], values, units, f"params table of drugs.{name}")


@pytest.mark.parametrize("name", list(drugs.LIBRARY))
def test_drug_route_table_matches_code(tables, name):
    d = drugs.LIBRARY[name]()
    rows = {_name(r[0]): r for r in tables[("routes", name)]}
    assert set(rows) == set(d.routes), f"docs/models.md routes of drugs.{name}: {sorted(rows)} vs {sorted(d.routes)}"
    for route, info in d.routes.items():
        row = rows[route]
        where = f"routes table of drugs.{name}, {route}"
        assert _name(row[1]) == info["cmt"], f"docs/models.md {where}: compartment {row[1]} vs {info['cmt']}"
        for cell, key in ((row[2], "F"), (row[3], "KA")):
            if key in info:
                assert _close(_number(cell, where), info[key]), f"docs/models.md {where}: {key} {cell} vs {info[key]}"
            else:
                assert cell == "—", f"docs/models.md {where}: {key} should be '—' (not set for this route)"


#: Component defaults tables: key -> the component (or mapping) whose defaults the table lists.
COMPONENTS = {
    "EnzymeTurnover": lambda: physiology.EnzymeTurnover(),
    "BrainPgp": lambda: physiology.BrainPgp("DRUG"),
    "BloodBrainBarrier": lambda: physiology.BloodBrainBarrier(),
    "GabaAReceptors": lambda: physiology.GabaAReceptors(),
    "NmdaReceptors": lambda: physiology.NmdaReceptors(),
    "Chloride": lambda: physiology.Chloride(),
    "ImposedSeizure": lambda: physiology.ImposedSeizure(),
    "NmdaChannelBlock": lambda: physiology.NmdaChannelBlock("KET"),
    "OperationalEffect": lambda: ppd.OperationalEffect("BZD", "MDZ"),
    "KE0": lambda: ppd.KE0,
    **{name: (lambda n=name: getattr(models, n)()) for name in models.pk.__all__},
}


@pytest.mark.parametrize("key", list(COMPONENTS))
def test_component_defaults_table_matches_code(tables, key):
    obj = COMPONENTS[key]()
    if isinstance(obj, dict):                               # pkpd.models.effects.KE0: drug -> 1/h
        values, units = dict(obj), {k: "1/h" for k in obj}
    else:
        values = {p.name: p.default for p in obj.parameters}
        units = {p.name: p.unit for p in obj.parameters}
    _compare(tables[("defaults", key)], values, units, f"defaults table of {key}")


def test_operational_defaults_are_bzd_operational(tables):
    rows = {_name(r[0]): _number(r[1], "OperationalEffect") for r in tables[("defaults", "OperationalEffect")]}
    assert rows == pytest.approx(ppd.BZD_OPERATIONAL, rel=REL_TOL)


@pytest.mark.parametrize("gene", list(genetics.GENES))
def test_genotype_activity_table_matches_code(tables, gene):
    rows = tables[("activity", gene)]
    _compare([[r[0], r[2]] for r in rows], dict(genetics.PHENOTYPE_ACTIVITY[gene]), None, f"activity table of {gene}")
    for r in rows:
        ph = genetics.phenotype(gene, _name(r[0]))
        assert r[1] == (ph.abbreviation or ph.phenotype), f"docs/models.md {gene} {r[0]}: phenotype {r[1]!r}"
