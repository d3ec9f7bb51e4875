"""`import learnsync`, `learnsync --version` and `--help` start without the engine: no dlt, Prefect, connector or
pyarrow import."""

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


def test_import_learnsync_loads_no_engine() -> None:
    """`python -X importtime -c "import learnsync"`: the package's API names are imported on first use (PEP 562),
    so importing it loads none of the engine, nor the API's own module."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import learnsync; learnsync.__all__"],
                         capture_output=True, text=True, check=True)
    # stderr: "import time: self [us] | cumulative | imported package", one line per module imported
    imported = {line.rsplit("|", 1)[1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "learnsync" in imported
    heavy = {m for m in imported for h in (*HEAVY, "learnsync.api", "learnsync.settings")
             if m == h or m.startswith(h + ".")}
    assert not heavy, sorted(heavy)
