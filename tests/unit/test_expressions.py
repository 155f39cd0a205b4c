"""The shared safe-expression reader (pkpd._internal.expressions): whitelist, refusals, options, evaluation."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from pkpd._internal import expressions
from pkpd._internal.expressions import MAX_LENGTH, Expression, compile_expression


class Refused(Exception):
    pass


FUNCTIONS = {"exp": (np.exp, 1, 1), "log": (np.log, 1, 1), "min": (np.minimum, 2, None), "pow": (np.power, 2, 2),
             "where": (np.where, 3, 3)}


def build(text, **options):
    options.setdefault("functions", FUNCTIONS)
    return compile_expression(text, error=Refused, prefix="here: ", suffix=" (in X)", **options)


def refusal(text, **options) -> str:
    with pytest.raises(Refused) as info:
        build(text, **options)
    message = str(info.value)
    assert message.startswith("here: ") and message.endswith(" (in X)"), message
    return message


# -- the whitelist -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("1 + 2 * 3", 7.0),
    ("-A + +B", 1.0),
    ("A ** 2 / B - 1", 1 / 3),
    ("exp(0) + log(1)", 1.0),
    ("min(A, B, 0.5)", 0.5),
    ("pow(A, 3)", 8.0),
    ("where(A > B, 10, 20)", 20.0),
    ("(A < B) + (A == 2) + (A != 2) + (A >= 2) + (A <= 1)", 3.0),
    ("1.5e1", 15.0),
])
def test_whitelisted_expressions_evaluate(text, expected):
    e = build(text)
    assert isinstance(e, Expression)
    assert float(e({"A": 2.0, "B": 3.0})) == pytest.approx(expected)


def test_names_are_those_read_in_order_each_once():
    e = build("B * A + log(B) - C", names=["A", "B", "C", "D"])
    assert e.names == ("B", "A", "C")
    assert e.text == "B * A + log(B) - C"
    assert build("  A + 1  ").text == "A + 1"


def test_numpy_arrays_broadcast():
    e = build("A * B + (A > 1)")
    a, b = np.array([1.0, 2.0, 3.0]), np.array([[1.0], [10.0]])
    out = e({"A": a, "B": b})
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, a * b + (a > 1))
    np.testing.assert_allclose(build("min(A, 2)")({"A": a}), [1.0, 2.0, 2.0])


def test_comparisons_and_logic_give_one_and_zero():
    a = np.array([0.0, 1.0, 2.0])
    out = build("A > 0")({"A": a})
    assert out.dtype == float
    np.testing.assert_array_equal(out, [0.0, 1.0, 1.0])
    e = build("(A > 0 and A < 2) + 10 * (not A) + 100 * (A == 0 or A == 2)", booleans=True)
    np.testing.assert_array_equal(e({"A": a}), [110.0, 1.0, 100.0])


def test_chained_comparisons_only_when_allowed():
    a = np.array([0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(build("1 <= A < 3", chained=True)({"A": a}), [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(build("0 < A < B <= 2", chained=True)({"A": a, "B": 2.0}), [0.0, 1.0, 0.0, 0.0])
    assert "the chained comparison '1 <= A < 3' is not allowed" in refusal("1 <= A < 3")


def test_and_or_not_only_when_allowed():
    assert "and/or (use where(...)) in 'A and B'" in refusal("A and B")
    assert "and/or in 'A or B'" in refusal("A or B", functions={})
    assert "the operator not in 'not A'" in refusal("not A")
    assert "and/or/not" in refusal("A[0]", booleans=True)
    assert "and/or/not" not in refusal("A[0]")
    assert "| (write 'or')" in refusal("A | B", booleans=True)


def test_allowed_names():
    assert build("CL / V", names={"CL", "V"}).names == ("CL", "V")
    assert "undefined name 'K'" in refusal("CL * K", names={"CL"})
    assert "undefined name 'K'; defined later" in refusal("K", names=(), hints={"K": "defined later"})
    assert "the function 'exp' is used without arguments" in refusal("exp + 1", names=())
    assert build("exp + 1").names == ("exp",)                # any name when names are not given


# -- refusals ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, part", [
    ("A.__class__", "attribute access 'A.__class__' is not allowed"),
    ("exp.__globals__", "attribute access 'exp.__globals__'"),
    ("(lambda: 1)()", "the call '(lambda: 1)()' is not allowed"),
    ("lambda: 1", "the lambda 'lambda: 1'"),
    ("A[0]", "subscripting 'A[0]'"),
    ("__import__('os')", "the function '__import__' is not allowed"),
    ("__import__('os').system('rm -rf /')", "the call \"__import__('os').system('rm -rf /')\""),
    ("__import__ + 1", "the name '__import__' is not allowed"),
    ("open('f')", "the call \"open('f')\": the function 'open' is not allowed"),
    ("eval('1')", "the function 'eval' is not allowed"),
    ("globals()", "the function 'globals' is not allowed"),
    ("sin(A)", "the function 'sin' is not allowed; an expression may use names, numbers, + - * / **, "
               "comparisons (< <= > >= == !=) and the functions exp, log, min, pow, where"),
    ("exp(x=1)", "keyword or starred arguments in 'exp(x=1)'"),
    ("exp(*A)", "keyword or starred arguments"),
    ("A // 2", "the operator // in 'A // 2'"),
    ("A ^ 2", "the operator ^ (write powers as **)"),
    ("~A", "the operator ~ in"),
    ("A in (1, 2)", "the comparison in in"),
    ("A is None", "the comparison is in"),
    ("'x'", "the constant (only numbers) \"'x'\""),
    ("True", "the constant (only numbers) 'True'"),
    ("1j", "the constant (only numbers)"),
    ("1e999 * A", "the number (too large) '1e999'"),
    ("A if B else 1", "the conditional (use where(cond, a, b))"),
    ("(A := 3)", "the assignment"),
    ("[c for c in A]", "the comprehension"),
    ("[A]", "the List part"),
    ("A; B", "not a valid expression"),
    ("A +", "not a valid expression"),
    ("", "the expression is empty"),
])
def test_refusals_name_the_offending_part(text, part):
    assert part in refusal(text)


def test_a_long_part_is_shortened_in_the_message():
    message = refusal("A." + "b" * 100)
    assert "'A." + "b" * 55 + "...'" in message


def test_arity_errors():
    assert "exp() takes 1 argument, got 2 in 'exp(A, 2)'" in refusal("exp(A, 2)")
    assert "min() takes 2 or more arguments, got 1" in refusal("min(A)")
    assert "pow() takes 2 arguments, got 3" in refusal("pow(A, 2, 3)")
    assert "where() takes 3 arguments, got 0" in refusal("where()")
    assert "f() takes 1 to 2 arguments, got 3" in refusal("f(1, 2, 3)", functions={"f": (np.round, 1, 2)})


def test_the_length_is_limited_before_parsing():
    assert "longer than 10 characters" in refusal("A + B + C + D", max_length=10)
    assert f"longer than {MAX_LENGTH} characters" in refusal("1 + " * MAX_LENGTH + "1")
    assert build("A + B", max_length=5).names == ("A", "B")


def test_deep_nesting_is_refused_not_crashed():
    message = refusal("(" * 150 + "A" + ")" * 150 + " + " + "-" * 50000 + "A", max_length=10**6)
    assert "not a valid expression" in message or "nested too deeply" in message


def test_nothing_runs_when_a_refused_text_is_read(tmp_path):
    marker = tmp_path / "ran"
    for text in (f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')",
                 f"(lambda: open('{marker}', 'w'))()"):
        with pytest.raises(Refused):
            build(text)
    assert not marker.exists()


def test_the_error_class_and_location_are_the_callers():
    class Mine(ValueError):
        pass

    with pytest.raises(Mine, match=r"^model M line 3: undefined name 'Q' \(in the definition of CP\)$"):
        compile_expression("Q", error=Mine, prefix="model M line 3: ", suffix=" (in the definition of CP)",
                           names=())


def test_the_module_imports_nothing_from_pkpd_and_evaluates_nothing():
    tree = ast.parse(open(expressions.__file__, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 or node.module is None or not node.module.startswith(".."), node.module
            assert not (node.module or "").startswith("pkpd") or (node.module or "").startswith("pkpd._internal")
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not calls & {"eval", "exec", "compile", "__import__", "getattr", "open"}
