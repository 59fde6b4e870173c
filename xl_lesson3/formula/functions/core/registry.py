"""The one registry of spreadsheet functions, shared by evaluation and compilation.

Each function is registered once, by an explicit decorator in its category module, with its
upper-case name, aliases (Excel writes newer functions as ``_xlfn.NAME`` in files), arity,
category and whether autograd may differentiate through it. The decorator records the spec and
returns the function unchanged. Looking up a missing name raises `UnsupportedFunctionError`
naming the function and listing what is supported; there is never a silent default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xl_lesson3.errors import UnsupportedFunctionError, located

Impl = Callable[..., object]


@dataclass(frozen=True)
class FunctionSpec:
    """What the engine knows about one function.

    ``gradient_free``: smooth in Excel, but computed outside autograd (scipy, Python loops), so
    a gradient method would see a false zero gradient; the compiled program lists such calls on
    the changing cells and the gradient engines refuse them (`CompiledProgram.gradient_free_calls`).
    ``lazy``: the implementation receives argument *thunks* rather than values (IF, IFERROR),
    so it can decide what to evaluate. ``array_result``: may return a block larger than 1×1
    (MMULT, TRANSPOSE, elementwise functions over ranges), which matters for spills and array
    formulas. ``takes_functions``: some arguments may be function values (a LAMBDA, ``_xleta.SUM``;
    see `function_values`); any other function given one gets ``#VALUE!`` instead of a call.
    """

    name: str
    impl: Impl
    min_args: int
    max_args: int | None
    category: str
    aliases: tuple[str, ...] = ()
    differentiable: bool = True
    gradient_free: bool = False
    lazy: bool = False
    array_result: bool = False
    takes_functions: bool = False
    summary: str = ""
    extra: dict = field(default_factory=dict)

    def check_arity(self, n_args: int, where: str = "") -> None:
        """Raise a located error when a call has too few or too many arguments."""
        if n_args < self.min_args or (self.max_args is not None and n_args > self.max_args):
            if self.max_args is None:
                expected = f"at least {self.min_args}"
            elif self.min_args == self.max_args:
                expected = str(self.min_args)
            else:
                expected = f"{self.min_args} to {self.max_args}"
            raise UnsupportedFunctionError(
                located(where, f"{self.name} takes {expected} arguments, got {n_args}")
            )


_REGISTRY: dict[str, FunctionSpec] = {}


def register(
    name: str,
    *,
    min_args: int,
    max_args: int | None,
    category: str,
    aliases: tuple[str, ...] = (),
    differentiable: bool = True,
    gradient_free: bool = False,
    lazy: bool = False,
    array_result: bool = False,
    takes_functions: bool = False,
) -> Callable[[Impl], Impl]:
    """Decorator: record `impl` under `name` (and `_xlfn.` / alias spellings); return it unchanged."""

    def decorate(impl: Impl) -> Impl:
        spec = FunctionSpec(
            name=name.upper(),
            impl=impl,
            min_args=min_args,
            max_args=max_args,
            category=category,
            aliases=tuple(a.upper() for a in aliases),
            differentiable=differentiable and not gradient_free,
            gradient_free=gradient_free,
            lazy=lazy,
            array_result=array_result,
            takes_functions=takes_functions,
            summary=(impl.__doc__ or "").strip().splitlines()[0] if impl.__doc__ else "",
        )
        for key in (spec.name, *spec.aliases):
            if key in _REGISTRY:
                raise ValueError(f"function {key} registered twice")
            _REGISTRY[key] = spec
        return impl

    return decorate


def register_cellwise(
    name: str,
    min_args: int,
    max_args: int | None,
    *,
    category: str,
    array_result: bool = True,
    **options: bool,
) -> Callable[[Impl], Impl]:
    """`register` for a function computed in Python one cell at a time (text, dates): not
    differentiable, and by default its result may be an array, which Excel spills."""
    return register(
        name,
        min_args=min_args,
        max_args=max_args,
        category=category,
        differentiable=False,
        array_result=array_result,
        **options,
    )


# Spellings of a name that are not part of it: Excel's file prefixes for newer functions and
# UDFs, and the Office.js custom-function namespace our add-in registers under (XLWINGS.RELU).
_PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLUDF.", "XLWINGS.")


def _normalise(name: str) -> str:
    name = name.strip().upper()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def lookup(name: str, where: str = "") -> FunctionSpec:
    """The spec for `name` (any case, ``_xlfn.`` prefix allowed), or a located error."""
    _load_library()
    spec = _REGISTRY.get(_normalise(name))
    if spec is None:
        raise UnsupportedFunctionError(
            located(
                where,
                f"{_normalise(name)} is not supported (supported: {', '.join(supported_names())})",
            )
        )
    return spec


def is_supported(name: str) -> bool:
    _load_library()
    return _normalise(name) in _REGISTRY


def supported_names() -> list[str]:
    """Every registered primary name, sorted (not the engine's own ``_NAME`` forms of syntax)."""
    _load_library()
    return sorted({spec.name for spec in _REGISTRY.values() if not spec.name.startswith("_")})


def specs() -> list[FunctionSpec]:
    """Every registered function once (aliases folded into their spec), sorted by name."""
    _load_library()
    unique = {spec.name: spec for spec in _REGISTRY.values() if not spec.name.startswith("_")}
    return [unique[name] for name in sorted(unique)]


def folder_of(spec: FunctionSpec) -> str:
    """The category folder that implements `spec` (``math``, ``lookup``…), where to look for it."""
    module = spec.impl.__module__.removeprefix("xl_lesson3.formula.functions.")
    return module.split(".")[0]


def _load_library() -> None:
    """Import the category modules once; their decorators fill the registry."""
    from xl_lesson3.formula.functions.core import library  # noqa: F401
