"""Bessel functions: BESSELJ, BESSELY, BESSELI, BESSELK.

Excel does not compute these to full precision: its values are those of the polynomial and
rational approximations of Numerical Recipes (Press et al., 2nd ed., §6.5-6.6; after
Abramowitz & Stegun 9.4 and 9.8), accurate to about 1e-8, and agree with them to the last bit
(BESSELJ(-1, 0) = 0.7651976837548592, where scipy's exact J0(1) is ...65579666). So the same
approximations are used here, and `scipy.special` only where the order is so large that the
recurrences would run for millions of steps and the value has underflowed anyway. The order
is truncated to a whole number; a negative order is #NUM!, and so are Y and K at x <= 0 and a
result that overflows. Booleans are #VALUE!; a multi-cell reference is #VALUE! (the Analysis
ToolPak rule). Cell by cell in Python, no gradient.
"""

from __future__ import annotations

import math

from xl_lesson3.formula.functions.core.cellwise import (
    Cell,
    as_number,
    map_cells,
    num_error,
    value_error,
)
from xl_lesson3.formula.functions.core.lazy_scipy import special
from xl_lesson3.formula.functions.core.registry import register
from xl_lesson3.formula.values import Block, ExcelError

CATEGORY = "Engineering"
ACC = 40.0  # Numerical Recipes' accuracy constant for the downward recurrences
BIG, BIG_INVERSE = 1.0e10, 1.0e-10  # rescaling that keeps the recurrences in range
LARGE_ORDER = 10_000  # above this the recurrences are too long; the value is ~0 or huge
EXP_LIMIT = 709.0  # exp() overflows a double past this


def _j0(x: float) -> float:
    ax = abs(x)
    if ax < 8.0:
        y = x * x
        top = 57568490574.0 + y * (-13362590354.0 + y * (651619640.7 + y * (
            -11214424.18 + y * (77392.33017 + y * -184.9052456))))  # fmt: skip
        bottom = 57568490411.0 + y * (1029532985.0 + y * (9494680.718 + y * (
            59272.64853 + y * (267.8532712 + y * 1.0))))  # fmt: skip
        return top / bottom
    z = 8.0 / ax
    y = z * z
    xx = ax - 0.785398164
    p = 1.0 + y * (-0.1098628627e-2 + y * (0.2734510407e-4 + y * (
        -0.2073370639e-5 + y * 0.2093887211e-6)))  # fmt: skip
    q = -0.1562499995e-1 + y * (0.1430488765e-3 + y * (-0.6911147651e-5 + y * (
        0.7621095161e-6 - y * 0.934935152e-7)))  # fmt: skip
    return math.sqrt(0.636619772 / ax) * (math.cos(xx) * p - z * math.sin(xx) * q)


def _j1(x: float) -> float:
    ax = abs(x)
    if ax < 8.0:
        y = x * x
        top = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (
            -2972611.439 + y * (15704.48260 + y * -30.16036606)))))  # fmt: skip
        bottom = 144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (
            99447.43394 + y * (376.9991397 + y * 1.0))))  # fmt: skip
        return top / bottom
    z = 8.0 / ax
    y = z * z
    xx = ax - 2.356194491
    p = 1.0 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (
        0.2457520174e-5 + y * -0.240337019e-6)))  # fmt: skip
    q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (
        -0.88228987e-6 + y * 0.105787412e-6)))  # fmt: skip
    value = math.sqrt(0.636619772 / ax) * (math.cos(xx) * p - z * math.sin(xx) * q)
    return -value if x < 0 else value


def bessel_j(x: float, n: int) -> float:
    """J_n(x): upward recurrence when |x| > n, else Miller's downward recurrence."""
    if n == 0:
        return _j0(x)
    if n == 1:
        return _j1(x)
    ax = abs(x)
    if ax == 0.0:
        return 0.0
    tox = 2.0 / ax
    if ax > n:
        previous, current = _j0(ax), _j1(ax)
        for j in range(1, n):
            previous, current = current, j * tox * current - previous
        value = current
    else:
        start = 2 * ((n + int(math.sqrt(ACC * n))) // 2)
        even, value, total, following, current = False, 0.0, 0.0, 0.0, 1.0
        for j in range(start, 0, -1):
            following, current = current, j * tox * current - following
            if abs(current) > BIG:
                current, following = current * BIG_INVERSE, following * BIG_INVERSE
                value, total = value * BIG_INVERSE, total * BIG_INVERSE
            if even:
                total += current
            even = not even
            if j == n:
                value = following
        value /= 2.0 * total - current
    return -value if x < 0 and n % 2 else value


def _y0(x: float) -> float:
    if x < 8.0:
        y = x * x
        top = -2957821389.0 + y * (7062834065.0 + y * (-512359803.6 + y * (
            10879881.29 + y * (-86327.92757 + y * 228.4622733))))  # fmt: skip
        bottom = 40076544269.0 + y * (745249964.8 + y * (7189466.438 + y * (
            47447.26470 + y * (226.1030244 + y * 1.0))))  # fmt: skip
        return top / bottom + 0.636619772 * _j0(x) * math.log(x)
    z = 8.0 / x
    y = z * z
    xx = x - 0.785398164
    p = 1.0 + y * (-0.1098628627e-2 + y * (0.2734510407e-4 + y * (
        -0.2073370639e-5 + y * 0.2093887211e-6)))  # fmt: skip
    q = -0.1562499995e-1 + y * (0.1430488765e-3 + y * (-0.6911147651e-5 + y * (
        0.7621095161e-6 + y * -0.934945152e-7)))  # fmt: skip
    return math.sqrt(0.636619772 / x) * (math.sin(xx) * p + z * math.cos(xx) * q)


def _y1(x: float) -> float:
    if x < 8.0:
        y = x * x
        top = x * (-0.4900604943e13 + y * (0.1275274390e13 + y * (-0.5153438139e11 + y * (
            0.7349264551e9 + y * (-0.4237922726e7 + y * 0.8511937935e4)))))  # fmt: skip
        bottom = 0.2499580570e14 + y * (0.4244419664e12 + y * (0.3733650367e10 + y * (
            0.2245904002e8 + y * (0.1020426050e6 + y * (0.3549632885e3 + y)))))  # fmt: skip
        return top / bottom + 0.636619772 * (_j1(x) * math.log(x) - 1.0 / x)
    z = 8.0 / x
    y = z * z
    xx = x - 2.356194491
    p = 1.0 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (
        0.2457520174e-5 + y * -0.240337019e-6)))  # fmt: skip
    q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (
        -0.88228987e-6 + y * 0.105787412e-6)))  # fmt: skip
    return math.sqrt(0.636619772 / x) * (math.sin(xx) * p + z * math.cos(xx) * q)


def bessel_y(x: float, n: int) -> float:
    """Y_n(x) for x > 0: upward recurrence from Y0 and Y1."""
    previous, current = _y0(x), _y1(x)
    if n == 0:
        return previous
    tox = 2.0 / x
    for j in range(1, n):
        previous, current = current, j * tox * current - previous
    return current


def _i0(x: float) -> float:
    ax = abs(x)
    if ax < 3.75:
        y = (x / 3.75) ** 2
        return 1.0 + y * (3.5156229 + y * (3.0899424 + y * (1.2067492 + y * (
            0.2659732 + y * (0.360768e-1 + y * 0.45813e-2)))))  # fmt: skip
    y = 3.75 / ax
    return (math.exp(ax) / math.sqrt(ax)) * (0.39894228 + y * (0.1328592e-1 + y * (
        0.225319e-2 + y * (-0.157565e-2 + y * (0.916281e-2 + y * (-0.2057706e-1 + y * (
            0.2635537e-1 + y * (-0.1647633e-1 + y * 0.392377e-2))))))))  # fmt: skip


def _i1(x: float) -> float:
    ax = abs(x)
    if ax < 3.75:
        y = (x / 3.75) ** 2
        value = ax * (0.5 + y * (0.87890594 + y * (0.51498869 + y * (0.15084934 + y * (
            0.2658733e-1 + y * (0.301532e-2 + y * 0.32411e-3))))))  # fmt: skip
    else:
        y = 3.75 / ax
        value = 0.2282967e-1 + y * (-0.2895312e-1 + y * (0.1787654e-1 - y * 0.420059e-2))
        value = 0.39894228 + y * (-0.3988024e-1 + y * (-0.362018e-2 + y * (
            0.163801e-2 + y * (-0.1031555e-1 + y * value))))  # fmt: skip
        value *= math.exp(ax) / math.sqrt(ax)
    return -value if x < 0 else value


def bessel_i(x: float, n: int) -> float:
    """I_n(x): downward recurrence normalised by I0."""
    if n == 0:
        return _i0(x)
    if n == 1:
        return _i1(x)
    if x == 0.0:
        return 0.0
    tox = 2.0 / abs(x)
    following, value, current = 0.0, 0.0, 1.0
    for j in range(2 * (n + int(math.sqrt(ACC * n))), 0, -1):
        following, current = current, following + j * tox * current
        if abs(current) > BIG:
            value, current, following = (
                value * BIG_INVERSE,
                current * BIG_INVERSE,
                following * BIG_INVERSE,
            )
        if j == n:
            value = following
    value *= _i0(x) / current
    return -value if x < 0 and n % 2 else value


def _k0(x: float) -> float:
    if x <= 2.0:
        y = x * x / 4.0
        return (-math.log(x / 2.0) * _i0(x)) + (-0.57721566 + y * (0.42278420 + y * (
            0.23069756 + y * (0.3488590e-1 + y * (0.262698e-2 + y * (
                0.10750e-3 + y * 0.74e-5))))))  # fmt: skip
    y = 2.0 / x
    return (math.exp(-x) / math.sqrt(x)) * (1.25331414 + y * (-0.7832358e-1 + y * (
        0.2189568e-1 + y * (-0.1062446e-1 + y * (0.587872e-2 + y * (
            -0.251540e-2 + y * 0.53208e-3))))))  # fmt: skip


def _k1(x: float) -> float:
    if x <= 2.0:
        y = x * x / 4.0
        return (math.log(x / 2.0) * _i1(x)) + (1.0 / x) * (1.0 + y * (0.15443144 + y * (
            -0.67278579 + y * (-0.18156897 + y * (-0.1919402e-1 + y * (
                -0.110404e-2 + y * -0.4686e-4))))))  # fmt: skip
    y = 2.0 / x
    return (math.exp(-x) / math.sqrt(x)) * (1.25331414 + y * (0.23498619 + y * (
        -0.3655620e-1 + y * (0.1504268e-1 + y * (-0.780353e-2 + y * (
            0.325614e-2 + y * -0.68245e-3))))))  # fmt: skip


def bessel_k(x: float, n: int) -> float:
    """K_n(x) for x > 0: upward recurrence from K0 and K1."""
    previous, current = _k0(x), _k1(x)
    if n == 0:
        return previous
    tox = 2.0 / x
    for j in range(1, n):
        previous, current = current, previous + j * tox * current
    return current


def _argument(cell: Cell) -> float | ExcelError:
    return value_error() if isinstance(cell, bool) else as_number(cell)


def _register(name: str, fn, scipy_fn, positive_x: bool, overflows: bool) -> None:
    @register(
        name, min_args=2, max_args=2, category=CATEGORY, gradient_free=True, array_result=True
    )
    def function(x: Block, n: Block) -> Block:
        def one(x_cell: Cell, n_cell: Cell) -> Cell:
            x_value, n_value = _argument(x_cell), _argument(n_cell)
            for value in (x_value, n_value):
                if isinstance(value, ExcelError):
                    return value
            order = math.trunc(n_value)
            if order < 0 or (positive_x and x_value <= 0):
                return num_error()
            if overflows and abs(x_value) > EXP_LIMIT:
                return num_error()
            if order > LARGE_ORDER:
                return float(scipy_fn(order, x_value))
            return fn(x_value, order)

        return map_cells(one, x, n, errors_in=True)

    function.__doc__ = f"{name}(x, n): the Bessel function of order n (truncated) at x."
    function.__name__ = name.lower()


_register("BESSELJ", bessel_j, lambda n, x: special.jv(n, x), positive_x=False, overflows=False)
_register("BESSELY", bessel_y, lambda n, x: special.yv(n, x), positive_x=True, overflows=False)
_register("BESSELI", bessel_i, lambda n, x: special.iv(n, x), positive_x=False, overflows=True)
_register("BESSELK", bessel_k, lambda n, x: special.kv(n, x), positive_x=True, overflows=False)
