"""Crash soak (not a test): `python -m tests.support.soak --kills 50 --dest duckdb|postgres`.

Kills `learnsync sync` with SIGKILL at random moments, many times; the next run is the rerun (it may be killed
too). Every `--check-every` kills one run goes to the end and the destination is compared with the source.
Prints kills, reruns, mismatches and time.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

from learnsync import emulator
from tests.support.warehouses import PG_URI, Dest, drop_pg_schema, new_share
from tests.support.crashkit import assert_exact, kill_nine, landed, move_on, seed, start_sync


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.support.soak")
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--dest", choices=["duckdb", "postgres"], default="duckdb")
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--check-every", type=int, default=5, help="kills between two checked complete runs")
    ap.add_argument("--max-delay", type=float, default=6.0, help="kill within this many seconds of the start")
    ap.add_argument("--new-rows", type=int, default=45, help="rows the share gains after every run")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # the runs reach loopback only
    started = time.monotonic()
    kills = reruns = mismatches = rounds = 0
    partial = 0  # kills that left some but not all rows loaded: mid-run, not before or after
    with emulator.emulated_share() as server, tempfile.TemporaryDirectory(prefix="learnsync-soak-") as tmp:
        work = Path(tmp)
        database = f"SOAK{uuid.uuid4().hex[:8].upper()}"
        share = new_share(server, database)
        dataset = f"soak_{uuid.uuid4().hex[:8]}"
        dest = (Dest("duckdb", f"duckdb:///{work / 'soak.duckdb'}", dataset, work / "soak.duckdb")
                if args.dest == "duckdb" else Dest("postgres", PG_URI, dataset, work))
        seed(share, args.rows)
        try:
            while kills < args.kills:
                rounds += 1
                delay = rnd.uniform(0.3, args.max_delay)
                proc = start_sync(share, dest, work)
                time.sleep(delay)
                if proc.poll() is None:
                    kill_nine(proc)
                    kills += 1
                    total = share.sql(f'SELECT count(*) FROM "{database}"."CORE"."COURSES_TRACKINGS"')[0][0]
                    n = landed(dest)
                    partial += 0 < n < total
                    print(f"kill {kills:3d} after {delay:4.1f}s: {n} of {total} rows in the destination", flush=True)
                    check = kills % args.check_every == 0
                else:
                    proc.communicate()  # it finished first: that run was a complete rerun, not a kill
                    check = False
                move_on(share, rounds, args.new_rows)
                if check:
                    rerun = start_sync(share, dest, work)
                    out, err = rerun.communicate(timeout=600)
                    reruns += 1
                    try:
                        assert rerun.returncode == 0, [line for line in out.splitlines() if "FAILED" in line]
                        assert_exact(share, dest)
                        print(f"rerun {reruns}: exact", flush=True)
                    except AssertionError as exc:
                        mismatches += 1
                        print(f"rerun {reruns}: MISMATCH {str(exc)[:500]}", flush=True)
        finally:
            share.conn.close()
            if args.dest == "postgres":
                drop_pg_schema(dataset)
    print(f"soak {args.dest}: {kills} kills ({partial} mid-run), {reruns} checked reruns, {mismatches} mismatches,"
          f" {time.monotonic() - started:.0f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
