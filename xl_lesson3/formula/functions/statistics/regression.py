"""Statistics: least-squares regression, LINEST, LOGEST, TREND and GROWTH.

Excel's rules, which these follow:

- known_y's in one column makes each column of known_x's a variable (one row per point); in
  one row, each row of known_x's is a variable; a rectangle of y's needs x's of its shape (one
  variable). Omitted x's are 1, 2, 3, …. Sizes that do not fit are #REF!.
- Any entry of y or x that is not a number (text, boolean, blank, error) makes the result
  #VALUE!, and so does an error in `const` or `stats`; LOGEST and GROWTH need y > 0 (#NUM!).
- A variable that is a linear combination of the earlier ones (or constant, with an intercept)
  is left out of the fit: its coefficient and standard error are 0 and it does not count in the
  degrees of freedom (Excel's collinearity handling since 2003).
- With ``const`` FALSE the line goes through the origin and R² is the uncentred one
  (1 - SSresid / Σy²).

LINEST's result is a row of coefficients in reverse order, ``m_k … m_1 b``, and with ``stats``
four more rows: standard errors; R² and the standard error of y; F and the residual degrees
of freedom; the regression and residual sums of squares, padded with #N/A. F is #NUM! when
the residuals vanish. Each cell of a run is fitted on its own (the kept columns depend on the
data), with torch QR so that gradients reach y and x.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from xl_lesson3.errors import EvaluationError
from xl_lesson3.formula.functions.core.coercion import MATRIX_ENTRIES, coerce
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.functions.math.rounding import numbers
from xl_lesson3.formula.values import Block, ErrorCode, Kind

CATEGORY = "Statistical"
# A column is collinear when Gram-Schmidt leaves less than this fraction of its length.
_COLLINEAR = 1e-10
# Residual sums of squares below this fraction of Σy² are rounding noise of an exact fit.
_EXACT = 1e-28
NA, NUM = int(ErrorCode.NA), int(ErrorCode.NUM)


class _Refused(Exception):
    """A whole-result Excel error found while reading the arguments."""

    def __init__(self, code: ErrorCode):
        super().__init__(code.name)
        self.code = code


@dataclass
class _Data:
    """The points as ``y (lead, n)`` and ``x (lead, n, k)``, with per-cell #VALUE! flags, and
    whether y ran along a row (results of TREND then run along a row too)."""

    y: torch.Tensor
    x: torch.Tensor
    bad: torch.Tensor  # (lead,) bool
    by_row: bool


def _entries(block: Block) -> tuple[torch.Tensor, torch.Tensor]:
    """Numbers ``(b, r, R, C)`` and a ``(b, r)`` flag: does any entry fail to be a number?"""
    read = coerce(block, MATRIX_ENTRIES)
    if read.err is None:
        return read.num, torch.zeros(read.num.shape[:2], dtype=torch.bool, device=read.num.device)
    return read.num, (read.err != 0).flatten(-2).any(-1).expand(read.num.shape[:2])


def _points(known_y: Block, known_x: Block | None) -> _Data:
    ys, y_bad = _entries(known_y)
    rows, cols = known_y.shape
    if known_x is None:
        n = rows * cols
        xs = torch.arange(1, n + 1, dtype=ys.dtype, device=ys.device).reshape(1, 1, rows, cols)
        x_bad = torch.zeros((1, 1), dtype=torch.bool, device=ys.device)
    else:
        xs, x_bad = _entries(known_x)
    x_rows, x_cols = xs.shape[-2:]
    by_row = rows == 1 and cols > 1
    if (x_rows, x_cols) == (rows, cols):
        y, x = ys.flatten(-2), xs.flatten(-2)[..., None]  # one variable
    elif cols == 1 and x_rows == rows:
        y, x = ys[..., 0], xs
    elif rows == 1 and x_cols == cols:
        y, x = ys[..., 0, :], xs.transpose(-1, -2)
    else:
        raise _Refused(ErrorCode.REF)
    lead = torch.broadcast_shapes(y.shape[:-1], x.shape[:-2], y_bad.shape, x_bad.shape)
    y, x = y.expand(*lead, y.shape[-1]), x.expand(*lead, *x.shape[-2:])
    bad = (y_bad | x_bad).expand(lead)
    return _Data(y, x, bad, by_row)


def _widen(data: _Data, lead) -> _Data:
    """The points repeated over the ``(batch, run)`` dims `lead`."""
    return _Data(
        data.y.expand(*lead, data.y.shape[-1]),
        data.x.expand(*lead, *data.x.shape[-2:]),
        data.bad.expand(lead),
        data.by_row,
    )


def _flag(
    block: Block | None, default: bool, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`const`/`stats` per cell; an empty argument (``LINEST(y,x,,TRUE)``) is the default."""
    if block is None or (
        block.kind is not None
        and not block.from_reference
        and bool((block.kind == int(Kind.BLANK)).all())
    ):
        return torch.full((1, 1), default, dtype=torch.bool, device=like.device), None
    (value,), err = numbers(block)
    return value.detach()[..., 0, 0] != 0, None if err is None else err[..., 0, 0] != 0


def _static_flag(flag: torch.Tensor) -> bool:
    values = flag.reshape(-1)
    if not bool((values == values[0]).all()):
        raise EvaluationError("LINEST's stats differs between cells of a run or solver restarts")
    return bool(values[0])


@dataclass
class _Fit:
    """One cell's fit: coefficients ``(k,)`` (0 for left-out columns), intercept, and the
    statistics LINEST shows."""

    slopes: torch.Tensor
    intercept: torch.Tensor
    se_slopes: torch.Tensor
    se_intercept: torch.Tensor | None
    r2: torch.Tensor
    se_y: torch.Tensor
    f: torch.Tensor | None  # None where Excel shows #NUM! (no residual or no df)
    df: int
    ss_reg: torch.Tensor
    ss_resid: torch.Tensor


def _kept_columns(x: torch.Tensor, const: bool) -> list[int]:
    """Indices of the columns of ``x (n, k)`` that are not combinations of earlier ones (nor
    constant, with an intercept), by Gram-Schmidt on detached values."""
    columns = x.detach()
    if const:
        columns = columns - columns.mean(dim=0)
    basis: list[torch.Tensor] = []
    kept = []
    for j in range(columns.shape[1]):
        column = columns[:, j]
        length = float(column.norm())
        residual = column.clone()
        for unit in basis:
            residual = residual - (unit @ residual) * unit
        rest = float(residual.norm())
        if length > 0 and rest > _COLLINEAR * length:
            basis.append(residual / rest)
            kept.append(j)
    return kept


def _fit(y: torch.Tensor, x: torch.Tensor, const: bool) -> _Fit:
    """Least squares of ``y (n,)`` on ``x (n, k)`` (and a constant)."""
    n, k = x.shape
    kept = _kept_columns(x, const)
    design = x[:, kept]
    if const:
        design = torch.cat([design, torch.ones_like(y)[:, None]], dim=1)
    df = n - design.shape[1]
    if design.shape[1] == 0:
        beta = torch.zeros(0, dtype=y.dtype, device=y.device)
    else:
        q, r = torch.linalg.qr(design)
        beta = torch.linalg.solve_triangular(r, (q.T @ y)[:, None], upper=True)[:, 0]
    fitted = design @ beta if design.shape[1] else torch.zeros_like(y)
    ss_resid = ((y - fitted) ** 2).sum()
    if float(ss_resid.detach()) <= _EXACT * float((y * y).sum().detach()):
        ss_resid = ss_resid * 0  # rounding noise of an exact fit: Excel shows 0 (and F #NUM!)
    ss_total = ((y - y.mean()) ** 2).sum() if const else (y * y).sum()
    if const and not kept and k:
        # Excel's saved values for x's that are all constant: the mean as b, and statistics
        # of an exact fit with no degrees of freedom (r² 1, SSreg = Σ(y-ȳ)², SSresid 0, df 0)
        ss_resid, df = ss_resid * 0, 0
    ss_reg = ss_total - ss_resid
    r2 = ss_reg / ss_total if float(ss_total.detach()) != 0 else torch.ones_like(ss_total)
    var_y = ss_resid / df if df > 0 else torch.zeros_like(ss_resid)
    slopes = torch.zeros(k, dtype=y.dtype, device=y.device)
    se_slopes = torch.zeros_like(slopes)
    se_all = torch.zeros_like(beta)
    if design.shape[1]:
        gram_inv = torch.linalg.inv(design.T @ design)
        se_all = torch.sqrt((torch.diagonal(gram_inv) * var_y).clamp(min=0))
    if kept:
        index = torch.tensor(kept, device=y.device)
        slopes = slopes.index_put((index,), beta[: len(kept)])
        se_slopes = se_slopes.index_put((index,), se_all[: len(kept)])
    intercept = beta[-1] if const else torch.zeros_like(slopes[0])
    f = (ss_reg / len(kept)) / var_y if kept and df > 0 and float(ss_resid.detach()) > 0 else None
    return _Fit(
        slopes=slopes,
        intercept=intercept,
        se_slopes=se_slopes,
        se_intercept=se_all[-1] if const else None,
        r2=r2,
        se_y=torch.sqrt(var_y),
        f=f,
        df=df,
        ss_reg=ss_reg,
        ss_resid=ss_resid,
    )


def _each_cell(data: _Data, const: torch.Tensor, flag_bad: torch.Tensor | None, log: bool):
    """Per cell of the lead dims: its index and its fit, or the Excel error it gets."""
    lead = data.y.shape[:-1]
    const = const.expand(lead)
    for index in itertools.product(*(range(size) for size in lead)):
        if bool(data.bad[index]) or (flag_bad is not None and bool(flag_bad[index])):
            yield index, ErrorCode.VALUE
            continue
        y = data.y[index]
        if log:
            if bool((y <= 0).any()):
                yield index, ErrorCode.NUM
                continue
            y = torch.log(y)
        yield index, _fit(y, data.x[index], bool(const[index]))


def _flag_errors(lead, *errs: torch.Tensor | None) -> torch.Tensor | None:
    present = [e.expand(lead) for e in errs if e is not None]
    if not present:
        return None
    out = present[0]
    for extra in present[1:]:
        out = out | extra
    return out


def _linest(known_y, known_x, const, stats, log: bool) -> Block:
    try:
        data = _points(known_y, known_x)
    except _Refused as refused:
        return Block.error(refused.code, dtype=known_y.num.dtype)
    use_const, const_err = _flag(const, True, data.y)
    want_stats, stats_err = _flag(stats, False, data.y)
    height, width = (5 if _static_flag(want_stats) else 1), data.x.shape[-1] + 1
    flags = [f.shape for f in (use_const, const_err, stats_err) if f is not None]
    data = _widen(data, torch.broadcast_shapes(data.y.shape[:-1], *flags))
    lead = data.y.shape[:-1]
    grids, codes = [], []
    for _index, fit in _each_cell(data, use_const, _flag_errors(lead, const_err, stats_err), log):
        grid, code = _layout(fit, height, width, log, data.y)
        grids.append(grid)
        codes.append(code)
    values = torch.stack(grids).reshape(*lead, height, width)
    err = torch.stack(codes).reshape(*lead, height, width)
    return Block(torch.where(err != 0, 0.0, values), err=err if bool(err.any()) else None)


def _layout(fit, height: int, width: int, log: bool, like: torch.Tensor):
    """LINEST's grid for one cell: values ``(height, width)`` and int8 error codes."""
    dtype, device = like.dtype, like.device
    codes = torch.full((height, width), NA, dtype=torch.int8, device=device)
    if isinstance(fit, ErrorCode):
        zeros = torch.zeros(height, width, dtype=dtype, device=device)
        return zeros, torch.full_like(codes, int(fit))
    coefficients = torch.cat([fit.slopes.flip(0), fit.intercept[None]])
    if log:
        coefficients = torch.exp(coefficients)
    rows = [coefficients]
    codes[0] = 0
    if height > 1:
        se_b = fit.se_intercept if fit.se_intercept is not None else fit.intercept * 0
        rows.append(torch.cat([fit.se_slopes.flip(0), se_b[None]]))
        codes[1] = 0
        if fit.se_intercept is None:
            codes[1, -1] = NA
        f = fit.f if fit.f is not None else fit.intercept * 0
        df = torch.tensor(float(fit.df), dtype=dtype, device=device)
        for row, pair in enumerate(((fit.r2, fit.se_y), (f, df), (fit.ss_reg, fit.ss_resid)), 2):
            line = torch.zeros(width, dtype=dtype, device=device)
            line = torch.cat([torch.stack(pair), line[2:]])
            rows.append(line)
            codes[row, :2] = 0
        if fit.f is None:
            codes[3, 0] = NUM
    return torch.stack(rows), codes


def _trend(known_y, known_x, new_x, const, log: bool) -> Block:
    try:
        data = _points(known_y, known_x)
        new, new_bad, shape = _new_points(data, known_y, known_x, new_x)
    except _Refused as refused:
        return Block.error(refused.code, dtype=known_y.num.dtype)
    use_const, const_err = _flag(const, True, data.y)
    flags = [f.shape for f in (use_const, const_err, new_bad) if f is not None]
    lead = torch.broadcast_shapes(data.y.shape[:-1], new.shape[:-2], *flags)
    data = _widen(data, lead)
    new = new.expand(*lead, *new.shape[-2:])
    flag_bad = _flag_errors(lead, const_err, new_bad)
    outputs, codes = [], []
    for index, fit in _each_cell(data, use_const, flag_bad, log):
        m = new.shape[-2]
        if isinstance(fit, ErrorCode):
            outputs.append(torch.zeros(m, dtype=new.dtype, device=new.device))
            codes.append(torch.full((m,), int(fit), dtype=torch.int8, device=new.device))
            continue
        predicted = new[index] @ fit.slopes + fit.intercept
        outputs.append(torch.exp(predicted) if log else predicted)
        codes.append(torch.zeros(m, dtype=torch.int8, device=new.device))
    values = torch.stack(outputs).reshape(*lead, *shape)
    err = torch.stack(codes).reshape(*lead, *shape)
    return Block(torch.where(err != 0, 0.0, values), err=err if bool(err.any()) else None)


def _new_points(data: _Data, known_y: Block, known_x: Block | None, new_x: Block | None):
    """The points to predict at ``(lead, m, k)``, a ``(lead,)`` #VALUE! flag or None, and the
    result's (rows, cols)."""
    k = data.x.shape[-1]
    if new_x is None:
        shape = known_y.shape if known_x is None or k == 1 else _along(data, data.x.shape[-2])
        return data.x, None, shape
    values, bad = _entries(new_x)
    rows, cols = new_x.shape
    if k == 1:
        return values.flatten(-2)[..., None], bad, (rows, cols)
    if data.by_row and rows == k:
        return values.transpose(-1, -2), bad, (1, cols)
    if not data.by_row and cols == k:
        return values, bad, (rows, 1)
    raise _Refused(ErrorCode.REF)


def _along(data: _Data, m: int) -> tuple[int, int]:
    return (1, m) if data.by_row else (m, 1)


@register("LINEST", min_args=1, max_args=4, category=CATEGORY, array_result=True)
def linest(
    known_y: Block, known_x: Block | None = None, const: Block | None = None, stats=None
) -> Block:
    """LINEST(known_y's, [known_x's], [const=TRUE], [stats=FALSE]): the least-squares line's
    coefficients ``m_k … m_1 b`` (and with `stats` the four rows of statistics below them).
    """
    return _linest(known_y, known_x, const, stats, log=False)


@register("LOGEST", min_args=1, max_args=4, category=CATEGORY, array_result=True)
def logest(
    known_y: Block, known_x: Block | None = None, const: Block | None = None, stats=None
) -> Block:
    """LOGEST(known_y's, [known_x's], [const=TRUE], [stats=FALSE]): the exponential curve
    ``y = b·m_1^x_1…`` fitted as LINEST on ln y; the statistics are those of that line.
    """
    return _linest(known_y, known_x, const, stats, log=True)


@register("TREND", min_args=1, max_args=4, category=CATEGORY, array_result=True)
def trend(
    known_y: Block, known_x: Block | None = None, new_x: Block | None = None, const=None
) -> Block:
    """TREND(known_y's, [known_x's], [new_x's], [const=TRUE]): the least-squares line's
    values at new_x's (default: at known_x's).
    """
    return _trend(known_y, known_x, new_x, const, log=False)


@register("GROWTH", min_args=1, max_args=4, category=CATEGORY, array_result=True)
def growth(
    known_y: Block, known_x: Block | None = None, new_x: Block | None = None, const=None
) -> Block:
    """GROWTH(known_y's, [known_x's], [new_x's], [const=TRUE]): the LOGEST curve's values at
    new_x's (default: at known_x's); #NUM! unless every y > 0.
    """
    return _trend(known_y, known_x, new_x, const, log=True)
