"""What `pip install .` puts into a user's environment: one import name, `learnsync`, and no emulator dependency
(fakesnow, which pins duckdb and sqlglot) outside the demo extra; a user's own `flows` package imports beside it. The wheel is the session's (conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"learnsync"}
    for sub in ("catalog", "pipelines", "destinations", "flows", "emulator", "pipelines/snowflake", "pipelines/source",
                "pipelines/sync"):
        assert f"learnsync/{sub}/__init__.py" in names, sub
    assert "learnsync/deploy/automations.yaml" in names  # `learnsync automations apply` reads it


def test_fakesnow_comes_only_with_the_demo_extra(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        requires = Parser().parsestr(zf.read(meta).decode()).get_all("Requires-Dist")
    emulator = [r for r in requires if r.lower().startswith(("fakesnow", "sqlglot"))]
    assert emulator and all("extra ==" in r for r in emulator), emulator
    assert {r.split("extra ==")[1].strip().strip("'\"") for r in emulator} <= {"demo", "dev"}


def test_a_users_own_flows_package_imports_beside_learnsync(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "__init__.py").write_text("MINE = True\n")
    code = ("import flows, learnsync.flows.sync as ours; assert flows.MINE;"
            " assert ours.__name__ == 'learnsync.flows.sync'; print(flows.__file__)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == str(tmp_path / "flows" / "__init__.py")
