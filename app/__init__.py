"""learnsync: sync LMS learning-data shares from Snowflake into your own warehouse."""

import os

__version__ = "0.1.0"

# Arrow's default allocator in the pyarrow wheels is mimalloc, which keeps freed windows mapped: a 200k-row sync into
# DuckDB peaked at 534-555 MB with it, 411 MB with the system allocator and 431 MB with jemalloc (measured, issue 13;
# pyarrow reads ARROW_DEFAULT_MEMORY_POOL when its default pool is first used). A choice already made wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
