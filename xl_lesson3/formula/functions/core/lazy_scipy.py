"""scipy's `stats` and `special`, imported on first use rather than with the function library.

Importing scipy.stats takes about a second; every workbook loads the whole function library, and
most never call a distribution. The category modules import these names instead of scipy's, so
`import scipy.stats` happens the first time a formula calls T.DIST or BESSELJ.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """A module imported on the first attribute read, then read through."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


stats = LazyModule("scipy.stats")
special = LazyModule("scipy.special")
