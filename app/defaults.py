"""Defaults every layer shares (the CLI's flags among them), kept free of imports so `learnsync --help` and
`--version` start without loading dlt, Prefect or the connector."""

from __future__ import annotations

DEFAULT_DESTINATION = "duckdb:///./learnsync.duckdb"
"""Where a sync loads when no destination URI is given: a DuckDB file in the working directory."""
WINDOW_ROWS = 250_000
"""Rows per committed window by default (`--window-rows`): memory follows it, at most two windows are held."""
WINDOW_MB = 256
"""A window's megabytes at most by default (`--window-mb`), estimated from the share's row sizes
(`snowflake.sql.row_bytes`): wide rows make windows of fewer rows."""
LOCK_TIMEOUT = 600.0
"""Seconds a run waits for another run syncing the same table before it stops (`--lock-timeout`)."""
