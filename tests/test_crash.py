"""Crash safety: `kill -9` a running sync at several moments, rerun, and the destination equals the source."""

from __future__ import annotations

import time

import pytest

from tests.crashkit import assert_exact, kill_nine, landed, move_on, seed, start_sync


@pytest.mark.subprocess_sync
@pytest.mark.parametrize("kill_after", [2.0, 3.0, 4.5])
def test_kill_minus_nine_then_rerun_is_exact(share, dest, tmp_path, kill_after):
    seed(share, 400)
    proc = start_sync(share, dest, tmp_path)
    time.sleep(kill_after)  # somewhere in reading, normalizing, loading or committing a window
    kill_nine(proc)
    print(f"killed after {kill_after}s with {landed(dest)} of 400 rows loaded")
    move_on(share, 0)
    rerun = start_sync(share, dest, tmp_path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert_exact(share, dest)
