"""Crash safety: `kill -9` a running sync at several moments, rerun, and the destination equals the source."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.crashkit import TABLE, assert_exact, kill_nine, landed, move_on, seed, start_sync


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


@pytest.mark.subprocess_sync
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_at_a_window_boundary_and_the_rerun_is_exact(share, dest, tmp_path, sig):
    """Ctrl-C (or a service manager's SIGTERM) mid-load: the window in flight commits, the run stops there, says
    what it committed and exits 130; the rerun goes on from there and the table equals the share."""
    seed(share, 400)
    proc = start_sync(share, dest, tmp_path)
    deadline = time.monotonic() + 120
    # each window is one dlt load package: signal once the first one is loaded, with more to come
    while not list((tmp_path / "dlt").glob("pipelines/*/load/loaded/*")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
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
