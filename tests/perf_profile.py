"""Profile one full load, for issue 22's notes: `python -m tests.perf_profile [--trackings N] [--window-rows N ...]
[--py-spy FILE | --memray FILE]`. Prints figures, asserts nothing.

The same share and pinning as `tests.perf` (the emulator on core 0, the measured `learnsync sync` of
COURSES_TRACKINGS into a fresh DuckDB file on core 1). Without a profiler: peak RSS, wall and CPU seconds for each
`--window-rows` given (what the window size does to memory). With `--py-spy FILE`: py-spy's raw samples of every
thread (`py-spy record --native --format raw`, py-spy on PATH), then the CPU grouped by what the samples run under.
With `--memray FILE`: `python -m memray run` (memray installed in this venv, or on PYTHONPATH), then the allocations
at memray's high-water mark grouped by the Python stack they come from. Neither profiler is a dependency of the
project: `pip install py-spy memray` into any venv of the same Python.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import sys
import tempfile
from typing import Optional

from learnsync import emulator
from tests.perf import DB, EMULATOR_CORE, SCHEMA, TABLE, WIRE, learnsync_sync, pin_process, pinning

CPU_GROUPS = [  # (group, pattern in the sampled stack), the first match wins
    ("load: DuckDB inserts the window's files (dlt DuckDbCopyJob)", r"DuckDbCopyJob\.run"),
    ("load: the merge SQL (dlt SqlLoadJob, delete-insert)", r"SqlLoadJob\.run"),
    ("load: other SQL", r"execute_sql"),
    ("read: connector download and Arrow decoding", r"_fetch|result_batch|create_iter|fetch_arrow"),
    ("extract: learnsync child tables", r"learnsync/pipelines/source/children"),
    ("extract: learnsync Arrow casts", r"learnsync/pipelines/source/arrow"),
    ("extract: dlt (incremental filter, Parquet writer)", r"Extract\.extract|PipeIterator"),
    ("normalize", r"Normalize"),
    ("imports", r"_find_and_load"),
    ("garbage collection", r"gc_collect"),
]

MEMORY_GROUPS = [  # (group, pattern in a frame's file), the first frame that matches wins
    ("connector Arrow batches (the read-ahead queue and the batches being loaded)", r"result_batch|arrow_iterator|nanoarrow"),
    ("DuckDB's queries via dlt", r"duckdb/sql_client|duckdb/duck\.py"),
    ("dlt incremental filter", r"extract/incremental"),
    ("learnsync child tables", r"learnsync/pipelines/source/children"),
    ("learnsync Arrow casts", r"learnsync/pipelines/source/arrow"),
    ("imported code", r"importlib|<frozen"),
    ("dlt writers", r"dlt/common/libs/pyarrow|data_writers"),
]


def cpu_groups(raw: str) -> list[tuple[str, float]]:
    """py-spy's raw samples (`stack count` lines) as the share of samples under each CPU_GROUPS entry."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    with open(raw) as f:
        for line in f:
            stack, _, n = line.rstrip().rpartition(" ")
            total += int(n)
            group = next((g for g, pattern in CPU_GROUPS if re.search(pattern, stack)), "other")
            counts[group] += int(n)
    return [(g, n / total) for g, n in counts.most_common()] if total else []


def memory_groups(path: str) -> tuple[float, list[tuple[str, float]]]:
    """memray's allocations at the high-water mark (MB) by MEMORY_GROUPS; allocations without a Python stack are
    DuckDB's and the connector's own threads."""
    from memray import FileReader  # type: ignore[import-not-found]  # a profiler, not a dependency

    records = list(FileReader(path).get_high_watermark_allocation_records(merge_threads=True))
    by: collections.Counter[str] = collections.Counter()
    for record in records:
        frames = [file for _, file, _ in record.stack_trace(max_stacks=40)]
        group = next((g for file in frames for g, pattern in MEMORY_GROUPS if re.search(pattern, file)), None)
        by[group or ("no Python stack (native threads)" if not frames else "other")] += record.size
    return sum(r.size for r in records) / 2**20, [(g, n / 2**20) for g, n in by.most_common()]


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trackings", type=int, default=1_000_000, help=f"{TABLE} rows (default 1,000,000)")
    ap.add_argument("--window-rows", type=int, nargs="*", default=[],
                    help="one run for each (default: learnsync's own window); not with a profiler")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--py-spy", metavar="FILE", help="record the run with py-spy into FILE (raw samples)")
    which.add_argument("--memray", metavar="FILE", help="record the run with memray into FILE")
    args = ap.parse_args(argv)
    if (args.py_spy or args.memray) and args.window_rows:
        ap.error("--window-rows measures runs without a profiler: give one or the other")
    if args.py_spy and not shutil.which("py-spy"):
        ap.error("py-spy is not on PATH: pip install py-spy")
    work = tempfile.mkdtemp(prefix="learnsync-profile-")
    interpreter: tuple[str, ...] = (sys.executable,)
    if args.py_spy:
        interpreter = ("py-spy", "record", "--rate", "50", "--native", "--format", "raw", "-o", args.py_spy, "--",
                       sys.executable)
    elif args.memray:
        interpreter = (sys.executable, "-m", "memray", "run", "-q", "-f", "-o", args.memray)
    if pinning():
        os.sched_setaffinity(0, {EMULATOR_CORE})
    with emulator.serve_in_subprocess(wire=WIRE) as server:
        if pinning() and server.pid:
            pin_process(server.pid, EMULATOR_CORE)
        emulator.generate_perf_share(server.connect(), events=1000, trackings=args.trackings)
        for rows in args.window_rows or [None]:
            name = f"w{rows or 'default'}"
            if rows:  # the flag's environment variable (learnsync_sync's command line is the benchmark's)
                os.environ["LEARNSYNC_WINDOW_ROWS"] = str(rows)
            run = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, f"duckdb:///{work}/{name}.duckdb", name,
                                 f"{work}/dlt-{name}", interpreter)
            print(f"{args.trackings:,} rows, --window-rows {rows or 'default'}: peak RSS {run.peak_rss_mb:,.0f} MB,"
                  f" wall / CPU s {run.figures()}{' (with the profiler)' if len(interpreter) > 1 else ''}", flush=True)
    if args.py_spy:
        for group, share in cpu_groups(args.py_spy):
            print(f"  {100 * share:5.1f}%  {group}")
    if args.memray:
        total, groups = memory_groups(args.memray)
        print(f"memray high-water mark: {total:,.0f} MB")
        for group, mb in groups:
            print(f"  {mb:7.1f} MB  {group}")


if __name__ == "__main__":
    main()
