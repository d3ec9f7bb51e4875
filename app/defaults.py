"""Defaults every layer shares (the CLI's flags among them), kept free of imports so `learnsync --help` and
`--version` start without loading dlt, Prefect or the connector."""

from __future__ import annotations

DEFAULT_DESTINATION = "duckdb:///./learnsync.duckdb"
"""Where a sync loads when no destination URI is given: a DuckDB file in the working directory."""
WINDOW_ROWS = 250_000
"""Rows per committed window by default (`--window-rows`): a window is one dlt load, committed with its cursor."""
READ_AHEAD_MB = 64
"""Megabytes of Arrow batches the reader holds ahead of the load (`snowflake.reader.WindowStream`): with the
batches dlt is extracting, what a table run's rows hold in memory, whatever the window's size."""
WINDOW_MB = 256
"""A window's megabytes at most by default (`--window-mb`), estimated from the share's row sizes
(`snowflake.sql.row_bytes`): wide rows make windows of fewer rows."""
LOCK_TIMEOUT = 600.0
"""Seconds a run waits for another run syncing the same table before it stops (`--lock-timeout`)."""
