"""`learnsync --version` and `--help` start without the engine: no dlt, Prefect, connector or pyarrow import."""

from __future__ import annotations

import subprocess
import sys

# (`snowflake` alone is a namespace package a .pth file of the connector imports at interpreter start)
HEAVY = ("dlt", "prefect", "snowflake.connector", "pyarrow", "duckdb", "pydantic_settings")

PROBE = """
import sys
from typer.testing import CliRunner
from learnsync.cli import app
for args in (["--version"], ["--help"], ["sync", "--help"], ["backfill", "--help"]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
print(",".join(h for h in sys.argv[1].split(",") if any(m == h or m.startswith(h + ".") for m in sys.modules)))
"""


def test_version_and_help_import_no_engine() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
