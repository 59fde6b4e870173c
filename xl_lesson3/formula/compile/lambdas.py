"""LAMBDA in the engine: function values made from formula syntax, and calls of them.

The binder (`plan.bind`) turns LAMBDA syntax into the engine's own calls (see `parse.ast.APPLY`):
a parameter's uses become ``_XLPM("key")``, ``LAMBDA(...)(args)`` and a call of a name holding a
LAMBDA become ``_APPLY(f, args...)``, ``_xleta.SUM`` becomes ``_XLETA("SUM")``. Here they are
lowered: a LAMBDA becomes a `FunctionValue` whose call lowers the body again with its
parameters bound in the context (lexical scope: the context the LAMBDA was written in, plus
its parameters), so a body is evaluated with the same code as any formula, vectorised over the
run of cells like the rest.

LAMBDA is evaluation-only: its arguments may not depend on the solver's changing cells (a body
is re-lowered on every call, which a compiled program cannot replay), and the compiler says so
instead of silently giving a zero gradient.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace

import torch

from xl_lesson3.errors import UnsupportedFunctionError, located
from xl_lesson3.formula.functions.core import registry
from xl_lesson3.formula.functions.core.function_values import (
    FunctionValue,
    accepts,
)
from xl_lesson3.formula.parse.ast import (
    APPLY,
    ETA,
    NAMED_LAMBDA,
    PARAM,
    Call,
    Missing,
    Node,
    Text,
)
from xl_lesson3.formula.scalars import ErrorCode, Kind
from xl_lesson3.formula.values import Block

ENGINE_CALLS = frozenset({"LAMBDA", APPLY, PARAM, ETA, NAMED_LAMBDA, "ISOMITTED"})
# Nested LAMBDA calls (recursion through a defined name) deeper than this give #NUM!: Excel
# stops a runaway recursion with an error too, and each level costs Python stack here.
MAX_DEPTH = 64
STACK_MARGIN = 200  # Python frames kept free below the recursion limit (a call needs tens)

Lower = Callable[[Node, object], object]


class _Omitted:
    """An argument left empty in a call (``f(1,)``): a blank to the body, TRUE to ISOMITTED."""


def lower_engine_call(node: Call, ctx, lower: Lower):
    """Lower one of `ENGINE_CALLS`; `ctx` is the interpreter's `UnitContext`."""
    if node.name == ETA:
        return _eta(node.args[0].value, ctx, lower)
    if node.name == "LAMBDA":
        return _lambda(node, ctx, lower)
    if node.name == PARAM:
        value = _lookup(node, ctx)
        return _blank() if isinstance(value, _Omitted) else value
    if node.name == APPLY:
        return _apply(node, ctx, lower)
    if node.name == NAMED_LAMBDA:
        return _named(node, ctx, lower)
    return _is_omitted(node, ctx)


def lower_if(node: Call, ctx, lower: Lower):
    """IF inside a LAMBDA's call: only the chosen branch when the condition is one known value.

    The engine's IF computes both branches (a run of cells may choose differently), which would
    make a recursive LAMBDA (``IF(n<2, 1, n*FACT(n-1))``) recurse until the depth limit; Excel
    evaluates only the branch taken. None when the general IF must decide.
    """
    if not 2 <= len(node.args) <= 3:
        return None
    condition = lower(node.args[0], ctx)
    if not isinstance(condition, Block) or condition.num.numel() != 1:
        return None
    if condition.err is not None or condition.text is not None:
        return None
    if condition.kind is not None and int(condition.kind.reshape(-1)[0]) == Kind.TEXT:
        return None
    if bool(condition.num.reshape(-1)[0] != 0):
        return lower(node.args[1], ctx)
    if len(node.args) == 3:
        return lower(node.args[2], ctx)
    return None


def refuse_variables(name: str, args: list, ctx) -> None:
    """Raise when an argument depends on the changing cells (a compiled `Dynamic`)."""
    from xl_lesson3.formula.compile.interpret import Dynamic

    if any(isinstance(arg, Dynamic) for arg in args):
        raise UnsupportedFunctionError(
            located(
                ctx.where,
                f"{name} is evaluated in Python, not differentiated: the solver cannot train "
                "through it (its arguments depend on the changing cells)",
            )
        )


def _lambda(node: Call, ctx, lower: Lower) -> FunctionValue | Block:
    *params, body = node.args
    if not params and isinstance(body, Missing) or not all(_is_param(p) for p in params):
        return Block.error(ErrorCode.VALUE)
    keys = tuple(p.args[0].value for p in params)

    def call(*args: Block) -> Block:
        if len(args) != len(keys):
            return Block.error(ErrorCode.VALUE)
        if ctx.depth >= MAX_DEPTH or _near_stack_limit():
            return Block.error(ErrorCode.NUM)
        inner = replace(
            ctx,
            bindings=(*ctx.bindings, *zip(keys, args, strict=True)),
            depth=ctx.depth + 1,
            in_array=True,
        )
        value = lower(body, inner)
        refuse_variables("LAMBDA", [value], ctx)
        return value

    return FunctionValue("LAMBDA", call, len(keys), len(keys))


def _near_stack_limit() -> bool:
    """True when Python's stack has too little room left for another call's lowering."""
    frame, depth = sys._getframe(), 0
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth > sys.getrecursionlimit() - STACK_MARGIN


def _eta(name: str, ctx, lower: Lower) -> FunctionValue:
    """``_xleta.NAME``: calls NAME as a formula would, its arguments bound like a LAMBDA's, so
    functions the engine lowers itself (ROWS, INDEX, IF's fusions) work as values too."""
    spec = registry.lookup(name, ctx.where)  # an unknown name: a located "not supported"

    def call(*args: Block) -> Block:
        keys = tuple(f"#{name}{i}" for i in range(len(args)))
        inner = replace(ctx, bindings=(*ctx.bindings, *zip(keys, args, strict=True)), in_array=True)
        return lower(Call(spec.name, tuple(Call(PARAM, (Text(key),)) for key in keys)), inner)

    return FunctionValue(spec.name, call, spec.min_args, spec.max_args)


def _is_param(node: Node) -> bool:
    return isinstance(node, Call) and node.name == PARAM


def _lookup(node: Call, ctx):
    key = node.args[0].value
    for name, value in reversed(ctx.bindings):
        if name == key:
            return value
    # A parameter is only ever lowered inside its LAMBDA's call: reaching here is a binder bug.
    raise TypeError(f"{ctx.where}: LAMBDA parameter {key!r} read outside its LAMBDA")


def _apply(node: Call, ctx, lower: Lower):
    """``f(args...)``: `f` must lower to a function value; empty arguments count as omitted."""
    callee, *arg_nodes = node.args
    fn = lower(callee, ctx)
    refuse_variables("LAMBDA", [fn], ctx)
    if not isinstance(fn, FunctionValue):
        return Block.error(ErrorCode.VALUE)  # Excel: calling a value that is not a function
    arg_ctx = replace(ctx, in_array=True)
    args = [_Omitted() if isinstance(a, Missing) else lower(a, arg_ctx) for a in arg_nodes]
    refuse_variables(fn.name, args, ctx)
    if not accepts(fn, len(args)):
        return Block.error(ErrorCode.VALUE)  # Excel: a wrong number of arguments
    if fn.name != "LAMBDA":  # a built-in (``_xleta.SUM`` passed in) reads an empty one as blank
        args = [_blank() if isinstance(a, _Omitted) else a for a in args]
    return fn.call(*args)


def _named(node: Call, ctx, lower: Lower):
    """A defined name's LAMBDA, visible to its own body under the name's key (recursion)."""
    key_node, lambda_node = node.args
    holder: list[FunctionValue] = []

    def call_self(*args: Block) -> Block:
        return holder[0].call(*args)

    proxy = FunctionValue("LAMBDA", call_self)
    inner = replace(ctx, bindings=(*ctx.bindings, (key_node.value, proxy)))
    fn = _lambda(lambda_node, inner, lower)
    if isinstance(fn, FunctionValue):
        holder.append(fn)
    return fn


def _is_omitted(node: Call, ctx) -> Block:
    """ISOMITTED(param): TRUE when the LAMBDA's call left that argument empty."""
    if len(node.args) != 1 or not _is_param(node.args[0]):
        return Block.error(ErrorCode.VALUE)
    omitted = isinstance(_lookup(node.args[0], ctx), _Omitted)
    return Block(
        torch.full((1, 1, 1, 1), float(omitted), dtype=torch.float64),
        kind=torch.full((1, 1, 1, 1), int(Kind.BOOL), dtype=torch.int8),
    )


def _blank() -> Block:
    return Block(
        torch.zeros((1, 1, 1, 1), dtype=torch.float64),
        kind=torch.full((1, 1, 1, 1), int(Kind.BLANK), dtype=torch.int8),
    )
