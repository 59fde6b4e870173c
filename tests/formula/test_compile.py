"""Compiled programs: agreement with evaluation, batching, gradients, op counts, errors."""

from __future__ import annotations

import pytest
import torch

from tests.formula.titanic_like import build_titanic_like
from xl_lesson3.errors import (
    BadInputError,
    DeviceError,
    EvaluationError,
    FormulaSyntaxError,
    UnsupportedFunctionError,
)
from xl_lesson3.formula.compile.program import compile_program
from xl_lesson3.formula.evaluate.recalc import evaluate_cells, evaluate_workbook
from xl_lesson3.workbook.address import CellAddress, RangeAddress
from xl_lesson3.workbook.load import load_workbook
from xl_lesson3.workbook.model import WorkbookModel


@pytest.fixture(scope="module")
def titanic30(tmp_path_factory):
    book = build_titanic_like(tmp_path_factory.mktemp("titanic") / "t30.xlsx", 30)
    return book, load_workbook(book.path)


def cells(text: str) -> list[CellAddress]:
    return RangeAddress.parse(text).cells()


def test_nnet_matches_evaluation_for_a_batch_of_parameters(titanic30):
    book, model = titanic30
    program = compile_program(model, book.loss, book.nnet_variables)
    assert program.variables == book.nnet_variables
    (expected,) = evaluate_cells(model, [book.loss])
    assert program(program.initial).item() == pytest.approx(expected, rel=1e-12)
    generator = torch.Generator().manual_seed(0)
    params = torch.randn(3, len(program.variables), generator=generator, dtype=torch.float64)
    values = program(params)
    assert values.shape == (3,)
    for row, value in zip(params, values, strict=True):
        overrides = dict(zip(program.variables, row.tolist(), strict=True))
        (reference,) = evaluate_cells(model, [book.loss], overrides)
        assert value.item() == pytest.approx(reference, rel=1e-12)


def test_mmult_array_formula_across_sheets(titanic30):
    book, model = titanic30
    program = compile_program(model, book.mmult_loss, book.mmult_params)
    (expected,) = evaluate_cells(model, [book.mmult_loss])
    assert program(program.initial).item() == pytest.approx(expected, rel=1e-12)
    params = program.initial.repeat(2, 1) + 0.1 * torch.arange(2.0, dtype=torch.float64)[:, None]
    overrides = dict(zip(program.variables, params[1].tolist(), strict=True))
    (shifted,) = evaluate_cells(model, [book.mmult_loss], overrides)
    assert program(params)[1].item() == pytest.approx(shifted, rel=1e-12)


@pytest.mark.parametrize("which", ["nnet", "mmult"])
def test_gradcheck_titanic_like(titanic30, which):
    book, model = titanic30
    objective, variables = {
        "nnet": (book.loss, book.nnet_variables),
        "mmult": (book.mmult_loss, book.mmult_params),
    }[which]
    program = compile_program(model, objective, variables)
    # Away from ReLU kinks: gradcheck's finite differences would straddle them otherwise.
    params = program.initial.unsqueeze(0).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(program, (params,), eps=1e-7, atol=1e-6)


def test_op_count_does_not_grow_with_rows(tmp_path):
    counts = []
    for n_rows in (100, 700):
        book = build_titanic_like(tmp_path / f"t{n_rows}.xlsx", n_rows)
        model = load_workbook(book.path)
        counts.append(compile_program(model, book.loss, book.nnet_variables).op_count)
    assert counts[0] == counts[1]
    assert counts[0] < 300


def test_float32_and_outputs(titanic30):
    book, model = titanic30
    relu = CellAddress("nnet", 7, 19)  # S7
    program = compile_program(
        model, book.loss, book.nnet_variables, outputs=[relu], dtype=torch.float32
    )
    assert program.initial.dtype == torch.float32
    value = program(program.initial)
    assert value.dtype == torch.float32
    (expected, relu_value) = evaluate_cells(model, [book.loss, relu])
    assert value.item() == pytest.approx(expected, rel=1e-5)
    outputs = program.outputs(program.initial.unsqueeze(0))
    assert set(outputs) == {book.loss, relu}
    assert outputs[relu].item() == pytest.approx(relu_value, rel=1e-5, abs=1e-6)


def small_model(extra: dict | None = None) -> WorkbookModel:
    cells = {"S!A1": 1.0, "S!A2": 2.0, "S!A3": 4.0, "S!C1": 0.5, "S!C2": -1.0}
    for r in (1, 2, 3):
        cells[f"S!B{r}"] = f"=A{r}*$C$1+$C$2"
    cells["S!D1"] = "=SUMSQ(B1:B3)"
    return WorkbookModel.from_cells(cells | (extra or {}))


def test_closed_form_gradient():
    program = compile_program(small_model(), CellAddress("S", 1, 4), cells("S!C1:C2"))
    params = torch.tensor([[0.5, -1.0], [2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    program(params).sum().backward()
    a = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    for row in range(2):
        w, b = params[row].detach()
        residual = a * w + b
        expected = torch.stack([(2 * residual * a).sum(), (2 * residual).sum()])
        assert torch.allclose(params.grad[row], expected)


def test_objective_that_ignores_the_variables_is_constant():
    program = compile_program(small_model({"S!E1": 7}), CellAddress("S", 1, 5), cells("S!C1"))
    params = torch.zeros((2, 1), dtype=torch.float64, requires_grad=True)
    values = program(params)
    values.sum().backward()
    assert values.tolist() == [7.0, 7.0] and params.grad.tolist() == [[0.0], [0.0]]
    assert not program.depends_on_variables
    other = compile_program(small_model(), CellAddress("S", 1, 4), cells("S!C1"))
    assert other.depends_on_variables


def test_unparsable_formula_outside_the_objective_still_compiles():
    model = small_model({"S!F1": "=SUM(A1", "S!F2": "=WEBSERVICE(1)", "S!F3": "=nope"})
    program = compile_program(model, CellAddress("S", 1, 4), cells("S!C1:C2"))
    assert program(program.initial).item() == pytest.approx(
        evaluate_cells(model, ["S!D1"])[0], rel=1e-12
    )


@pytest.mark.parametrize(
    ("extra", "variables", "error", "message"),
    [
        (
            {"S!D1": "=SUMSQ(B1:B3)+WEBSERVICE(1)"},
            "S!C1:C2",
            UnsupportedFunctionError,
            "S!D1: WEBSERVICE is not supported (supported: ",
        ),
        (
            {"S!D1": "=SUMSQ(B1:B3)+nope"},
            "S!C1:C2",
            EvaluationError,
            "S!D1: #NAME? reaches the objective S!D1",
        ),
        ({"S!D1": "=SUMSQ(B1:B3"}, "S!C1:C2", FormulaSyntaxError, "S!D1: "),
        ({}, "S!B1:B2", BadInputError, "S!B1: a variable cell must hold a number"),
        ({"S!C2": "text"}, "S!C1:C2", EvaluationError, "S!C2: text where a number is needed"),
        (
            {"S!A2": 0, "S!B2": "=1/A2*$C$1"},
            "S!C1:C2",
            EvaluationError,
            "S!B2: #DIV/0! reaches the objective S!D1 (first produced here)",
        ),
        (
            {"S!B3": "=LN(A3*$C$2)"},
            "S!C1:C2",
            EvaluationError,
            "S!B3: #NUM! reaches the objective S!D1",
        ),
        ({"S!A1": "=1/0"}, "S!C1:C2", EvaluationError, "S!A1: #DIV/0! reaches the objective"),
        (
            {"S!D1": '=IF(C1>0,"big",1)'},
            "S!C1:C2",
            EvaluationError,
            "text where a number is needed",
        ),
    ],
    ids=[
        "unsupported",
        "unknown-name",
        "syntax",
        "formula-variable",
        "text-variable",
        "constant-error",
        "dynamic-error",
        "error-input",
        "text-objective",
    ],
)
def test_compile_errors_are_located(extra, variables, error, message):
    with pytest.raises(error) as info:
        compile_program(small_model(extra), CellAddress("S", 1, 4), cells(variables))
    assert str(info.value).startswith(message) or message in str(info.value)


def test_error_values_at_other_parameters_read_as_nan():
    model = small_model({"S!B3": "=LN(A3*$C$1)"})
    program = compile_program(model, CellAddress("S", 1, 4), cells("S!C1:C2"))
    values = program(torch.tensor([[0.5, -1.0], [-0.5, -1.0]], dtype=torch.float64))
    assert torch.isfinite(values[0]) and torch.isnan(values[1])


def test_params_shape_is_checked():
    program = compile_program(small_model(), CellAddress("S", 1, 4), cells("S!C1:C2"))
    with pytest.raises(BadInputError, match=r"params must be \(batch, 2\)"):
        program(torch.zeros((2, 3)))


def test_evaluate_workbook_recalculates_everything(titanic30):
    book, model = titanic30
    values = evaluate_workbook(model)
    formula_cells = {a for a, c in model.cells.items() if c.formula is not None}
    assert formula_cells <= set(values)
    assert values[book.loss] == pytest.approx(evaluate_cells(model, [book.loss])[0], rel=1e-15)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_device_error():
    with pytest.raises(DeviceError, match="CUDA is not available"):
        compile_program(small_model(), CellAddress("S", 1, 4), cells("S!C1:C2"), device="cuda")


@pytest.mark.gpu
def test_cuda_matches_cpu(titanic30):
    book, model = titanic30
    cpu = compile_program(model, book.loss, book.nnet_variables)
    gpu = compile_program(model, book.loss, book.nnet_variables, device="cuda")
    params = cpu.initial.repeat(4, 1) + torch.linspace(0, 0.3, 4, dtype=torch.float64)[:, None]
    expected = cpu(params)
    got = gpu(params.cuda())
    assert got.device.type == "cuda"
    assert torch.allclose(got.cpu(), expected, rtol=1e-12)


def test_blank_variables_beyond_the_used_area_start_at_zero():
    model = WorkbookModel.from_cells({"S!A1": 3, "S!B1": "=A1*Z9+Z10"})
    program = compile_program(model, CellAddress("S", 1, 2), cells("S!Z9:Z10"))
    assert program.initial.tolist() == [0.0, 0.0]
    assert program(torch.tensor([[2.0, 1.0]], dtype=torch.float64)).item() == 7.0
