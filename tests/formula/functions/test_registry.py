"""The registry: names, spellings, arity and the unsupported-function message."""

from __future__ import annotations

import pytest

from xl_lesson3.errors import UnsupportedFunctionError
from xl_lesson3.formula.functions.core.registry import is_supported, lookup, supported_names

REQUIRED = [
    "SUMPRODUCT",
    "MMULT",
    "TRANSPOSE",
    "SUM",
    "AVERAGE",
    "COUNT",
    "MAX",
    "MIN",
    "SUMSQ",
    "SUMXMY2",
    "SUMX2MY2",
    "IF",
    "IFERROR",
    "AND",
    "OR",
    "NOT",
    "ABS",
    "SQRT",
    "POWER",
    "EXP",
    "LN",
    "LOG",
    "LOG10",
    "SIGN",
    "ROUND",
    "TANH",
    "RELU",
    "SIGMOID",
    "TORCH_SUMPRODUCT",
    "TORCH_MMULT",
    "TORCH_MSE",
    "TORCH_LOGLOSS",
]


def test_every_required_function_is_registered():
    assert set(REQUIRED) <= set(supported_names())


@pytest.mark.parametrize(
    "spelling",
    ["sumproduct", "_xlfn.SUMPRODUCT", "_xlfn._xlws.SUMPRODUCT", " SumProduct "],
)
def test_spellings_of_a_builtin(spelling):
    assert lookup(spelling).name == "SUMPRODUCT"


@pytest.mark.parametrize("spelling", ["XLWINGS.RELU", "xlwings.relu", "_xludf.RELU", "relu"])
def test_spellings_of_a_udf(spelling):
    assert lookup(spelling).name == "RELU"


def test_unsupported_function_names_place_and_alternatives():
    with pytest.raises(UnsupportedFunctionError) as info:
        lookup("WEBSERVICE", "nnet!AC4")
    message = str(info.value)
    assert message.startswith("nnet!AC4: WEBSERVICE is not supported (supported: ")
    assert "SUMPRODUCT" in message
    assert not is_supported("WEBSERVICE")


@pytest.mark.parametrize(
    ("name", "n_args", "expected"),
    [
        ("IF", 1, "IF takes 2 to 3 arguments, got 1"),
        ("NOT", 2, "NOT takes 1 arguments, got 2"),
        ("SUM", 0, "SUM takes 1 to 255 arguments, got 0"),
    ],
    ids=["IF-too-few", "NOT-too-many", "SUM-none"],
)
def test_arity_errors_are_located(name, n_args, expected):
    with pytest.raises(UnsupportedFunctionError, match=f"^Sheet1!B2: {expected}$"):
        lookup(name).check_arity(n_args, "Sheet1!B2")


@pytest.mark.parametrize("name", ["ROUND", "SIGN", "COUNT", "AND", "OR", "NOT"])
def test_step_functions_are_not_differentiable(name):
    assert not lookup(name).differentiable


@pytest.mark.parametrize("name", ["MMULT", "TRANSPOSE", "SQRT", "IF", "RELU"])
def test_functions_that_can_return_ranges(name):
    assert lookup(name).array_result
