"""The unit tier: no emulator, no destination server, no dlt pipeline run, no subprocess; seconds in all.
Each test reads no user config (dlt's project and data dirs point at the test's tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(tmp_path))
    for name in ("SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD", "SOURCES__LEARNSYNC__CREDENTIALS__PRIVATE_KEY",
                 "SOURCES__LEARNSYNC__CREDENTIALS__PRIVATE_KEY_PATH", "SOURCES__LEARNSYNC__CREDENTIALS__TOKEN"):
        monkeypatch.delenv(name, raising=False)
