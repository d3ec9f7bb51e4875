"""Crash safety: `kill -9` a running sync at several moments, rerun, and the destination equals the source."""

from __future__ import annotations

import signal

import pytest

from tests.support.crashkit import MOMENTS, TABLE, assert_exact, kill_nine, landed, move_on, seed, start_sync, wait_for

pytestmark = pytest.mark.slow  # each test runs `learnsync sync` as a process two or three times


@pytest.mark.subprocess_sync
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_kill_minus_nine_then_rerun_is_exact(share, dest, tmp_path, moment):
    """`kill -9` as the first window is read, is ready to load, or has committed (with nine more to come)."""
    seed(share, 400)
    proc = start_sync(share, dest, tmp_path)
    seen = wait_for(proc, tmp_path, moment)
    kill_nine(proc)
    rows = landed(dest)
    print(f"killed once {seen} with {rows} of 400 rows loaded")
    assert rows < 400  # mid-run: windows of 40 rows, killed in the first one or right after it committed
    move_on(share, 0)
    rerun = start_sync(share, dest, tmp_path)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert_exact(share, dest)


@pytest.mark.subprocess_sync
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_at_a_window_boundary_and_the_rerun_is_exact(share, dest, tmp_path, sig):
    """Ctrl-C (or a service manager's SIGTERM) mid-load: the window in flight commits, the run stops there, says
    what it committed and exits 130; the rerun goes on from there and the table equals the share."""
    seed(share, 400)
    proc = start_sync(share, dest, tmp_path)
    # each window is one dlt load package: signal once the first one is loaded, with more to come
    wait_for(proc, tmp_path, "loaded")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err and "FAILED" not in out, out + err
    (line,) = [x.strip() for x in out.splitlines() if x.strip().startswith(TABLE)]
    rows = landed(dest)
    assert 0 < rows < 400, (rows, line)
    (newest,) = dest.query('SELECT max(created_at) FROM "{ds}"."courses_trackings"')[0]
    assert line == f"{TABLE} interrupted: committed through {newest}, {rows:,} rows; rerun to resume", out
    rerun = start_sync(share, dest, tmp_path)
    out2, err2 = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, out2 + err2
    assert_exact(share, dest)
