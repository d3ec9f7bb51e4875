# pyarrow.compute defines most of its functions at import time, one per kernel in Arrow's C++ registry
# (_make_global_functions: pc.if_else, pc.min_max, pc.binary_join, ...), so no static tool can see them, and
# pyarrow ships no stubs. This stub (pyright's stubPath, [tool.pyright] in pyproject.toml) says what is true
# statically: every attribute exists and is untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
