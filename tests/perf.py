"""Benchmark: `python -m tests.perf [--trackings N] [--big N] [--with-stock] [--with-reconcile]`. Prints figures,
asserts nothing (issue 13's table, for DuckDB and Postgres, on the realistic wire).

The emulator runs in its own process; every measured sync is its own `learnsync sync -v` process, whose wall time
and peak RSS (VmHWM) are reported, with the stage breakdown it logs (`learnsync.pipelines.stages`). Measured:

- the source limit: the raw connector's `fetch_arrow_batches` of COURSES_TRACKINGS doing nothing else;
- a full sync of it (child tables included) into each destination, as rows/s and as a share of that limit;
- an incremental run after +0.1 % new rows, as a share of the full sync's time;
- peak RSS at the table's size and at `--big` rows (the same table regenerated, 4,000,000 by default);
- an idle sync of all 18 360Learning tables (a small share): seconds and Snowflake queries;
- optionally dlt's stock `sql_table` (`--with-stock`, needs the bench extra) and `learnsync reconcile`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

from learnsync import emulator
from tests.support.warehouses import drop_pg_schema

PG_URI = os.environ.get("LEARNSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DB, SCHEMA, TABLE = "LEARNING_360", "CORE", "COURSES_TRACKINGS"
IDLE_DB = "IDLE360"


@dataclass
class Run:
    seconds: float  # wall time of the process, start-up and imports included
    peak_rss_mb: float
    output: str
    stages: dict[str, str] = field(default_factory=dict)

    def stage_line(self) -> str:
        """The `stages:` line the run logged for its (single) table."""
        for line in self.output.splitlines():
            if " stages: " in line:
                return line.split(" stages: ", 1)[1].strip()
        return "-"

    def queries(self) -> str:
        """`N queries, S s` of the run's `Snowflake:` summary line."""
        for line in self.output.splitlines():
            if line.startswith("Snowflake: "):
                return line[len("Snowflake: "):].strip()
        return "?"

    def table_seconds(self) -> float:
        """The sync time `learnsync sync` prints for the (single) table."""
        for line in self.output.splitlines():
            m = re.search(r" rows +\d+ \(.*?\) +([\d.]+)s ", line)
            if m:
                return float(m.group(1))
        return self.seconds


def _hwm_mb(pid: int) -> float:
    """VmHWM: the process's own peak RSS (wait4's ru_maxrss would include the RSS of this benchmark at fork)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_process(args: list[str], env: dict[str, str]) -> Run:
    """Run a child process; wall time and its own peak RSS, sampled until it exits."""
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env})
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _hwm_mb(proc.pid))
            time.sleep(0.05)
        seconds = time.monotonic() - started
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(args)}\n{text}")
    return Run(seconds, peak, text)


def source_limit(conn: Any, database: str, schema: str, table: str) -> tuple[int, float]:
    started = time.monotonic()
    cur = conn.cursor()
    cur.execute(f'SELECT * FROM "{database}"."{schema}"."{table}"')
    rows = sum(batch.num_rows for batch in cur.fetch_arrow_batches())
    cur.close()
    return rows, time.monotonic() - started


def learnsync_sync(server: Any, profile: str, database: str, schema: str, table: Optional[str], dest: str,
                   dataset: str, data_dir: str) -> Run:
    """`learnsync sync -v` of one table (None: every table of the profile) in its own process."""
    return run_process(
        [sys.executable, "-m", "learnsync.cli", "sync", "-v", "--no-progress", "--profile", profile,
         *(["--tables", table] if table else []),
         "--source-uri", server.uri(database, schema), "--dest-uri", dest, "--dataset", dataset],
        {"DLT_DATA_DIR": data_dir, "RUNTIME__LOG_LEVEL": "WARNING"},
    )


STOCK = textwrap.dedent(
    """
    import sys, time, dlt, sqlalchemy
    from dlt.sources.sql_database import sql_table
    url, port, schema, table, dest, limit = sys.argv[1:7]
    # snowflake-sqlalchemy refuses host/port in the URL query: hand them to the connector directly
    engine = sqlalchemy.create_engine(url, connect_args={"host": "127.0.0.1", "port": int(port), "protocol": "http"})
    res = sql_table(credentials=engine, table=table, schema=schema).add_limit(int(limit))
    p = dlt.pipeline("stock_" + table.lower(), destination=dlt.destinations.duckdb(dest), dataset_name="stock")
    t = time.monotonic(); p.run(res); s = time.monotonic() - t
    n = p.last_trace.last_normalize_info.row_counts.get(table.lower(), 0)
    print(f"STOCK {n} {s}")
    """
)


def stock_dlt(server: Any, database: str, schema: str, table: str, dest: str, chunks: int, data_dir: str) -> tuple[int, float]:
    url = f"snowflake://fake:snow@fakesnow/{database}/{schema}"
    r = run_process([sys.executable, "-c", STOCK, url, str(server.port), schema, table, dest, str(chunks)],
                    {"DLT_DATA_DIR": data_dir})
    line = [ln for ln in r.output.splitlines() if ln.startswith("STOCK ")][-1].split()
    return int(line[1]), float(line[2])


def add_new_rows(conn: Any, database: str, schema: str, table: str, cursor: str, n: int) -> None:
    """Copy n existing rows with new keys and a cursor one hour past the newest: 'new rows' for the share."""
    cur = conn.cursor()
    cur.execute(f'SELECT MAX("{cursor}") FROM "{database}"."{schema}"."{table}"')
    newest = cur.fetchall()[0][0]
    cur.execute(f'SELECT COLUMN_NAME FROM "{database}".INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = %s'
                " ORDER BY ORDINAL_POSITION", (table,))
    cols = [r[0] for r in cur.fetchall()]
    exprs = []
    for c in cols:
        if c == cursor:
            exprs.append("DATEADD(hour, 1, %(newest)s::TIMESTAMP_NTZ)")
        elif c == "ID":
            exprs.append(f"'new-{uuid.uuid4().hex[:6]}-' || \"ID\"")
        else:
            exprs.append(f'"{c}"')
    cur.execute(
        f'INSERT INTO "{database}"."{schema}"."{table}" SELECT {", ".join(exprs)}'
        f' FROM "{database}"."{schema}"."{table}" LIMIT {n}', {"newest": newest}
    )
    cur.close()


def bench_reconcile(server: Any, conn: Any, work: str, report: Any, full_sync_seconds: Optional[float]) -> None:
    """0.01 % of COURSES_TRACKINGS changed without touching its cursor (90 updated in place, 10 hard-deleted):
    `learnsync reconcile` against a full re-read of the table (a full refresh)."""
    db, schema, table = "LEARNING_360", "CORE", "COURSES_TRACKINGS"
    dest, dataset, data_dir = f"duckdb:///{work}/reconcile.duckdb", "perf_reconcile", f"{work}/dlt-reconcile"
    first = learnsync_sync(server, "360learning", db, schema, table, dest, dataset, data_dir)
    fq = f'"{db}"."{schema}"."{table}"'
    cur = conn.cursor()
    cur.execute(f"SELECT COUNT(*) FROM {fq}")
    n = cur.fetchall()[0][0]
    # spread over the key space: ordered by another hash than the buckets' MD5(key)
    pick = f'SELECT "ID" FROM {fq} ORDER BY MD5("ID" || \'x\')'
    cur.execute(f'UPDATE {fq} SET "PROGRESS" = ("PROGRESS" + 1) % 101 WHERE "ID" IN ({pick} LIMIT 90)')
    cur.execute(f'DELETE FROM {fq} WHERE "ID" IN ({pick} LIMIT 10 OFFSET 500)')
    cur.close()
    args = ["--profile", "360learning", "--tables", table, "--source-uri", server.uri(db, schema),
            "--dest-uri", dest, "--dataset", dataset]
    run = run_process([sys.executable, "-m", "learnsync.cli", "reconcile", "--json", *args], {"DLT_DATA_DIR": data_dir})
    r = json.loads([ln for ln in run.output.splitlines() if ln.startswith("{")][-1])
    full = full_sync_seconds or first.table_seconds()
    report(f"reconcile {n:,} rows, 0.01% changed -> duckdb (s)",
           f"{r['seconds']:.1f} (process {run.seconds:.1f}s, peak RSS {run.peak_rss_mb:,.0f} MB) vs full re-read"
           f" {full:.1f}s = {r['seconds'] / full:.0%}")
    report("reconcile found (updated, inserted, deleted)", f"{r['updated']}, {r['inserted']}, {r['deleted']}")
    report("reconcile transferred from the share",
           f"{r['rows_fetched']} rows + {r['fingerprints']} key fingerprints (both sides) + {r['buckets']} bucket"
           f" summaries, vs {n:,} rows for a full re-read")
    again = run_process([sys.executable, "-m", "learnsync.cli", "reconcile", "--dry-run", "--json", *args],
                        {"DLT_DATA_DIR": data_dir})
    r2 = json.loads([ln for ln in again.output.splitlines() if ln.startswith("{")][-1])
    report("reconcile again, nothing changed (s)", f"{r2['seconds']:.1f}, drift {r2['drift']}")


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trackings", type=int, default=1_000_000, help="COURSES_TRACKINGS rows (default 1,000,000)")
    ap.add_argument("--big", type=int, default=4_000_000, help="rows of the memory run at size (0: skip)")
    ap.add_argument("--dest", choices=["duckdb", "postgres", "both"], default="both")
    ap.add_argument("--with-stock", action="store_true", help="also dlt's stock sql_table (needs the bench extra)")
    ap.add_argument("--with-reconcile", action="store_true", help="also learnsync reconcile after 0.01 %% changed")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="learnsync-perf-")
    figures: list[tuple[str, str]] = []

    def report(name: str, value: str) -> None:
        figures.append((name, value))
        print(f"{name:<60} {value}", flush=True)

    dests = {"duckdb": f"duckdb:///{work}/perf.duckdb", "postgres": PG_URI}
    if args.dest != "both":
        dests = {args.dest: dests[args.dest]}
    datasets = {name: f"perf_{uuid.uuid4().hex[:6]}" for name in dests}
    with emulator.serve_in_subprocess() as server:
        conn = server.connect()
        t = time.monotonic()
        n = emulator.generate_perf_share(conn, events=1000, trackings=args.trackings)[f"{DB}.{SCHEMA}.{TABLE}"]
        small = emulator.create_360learning(conn, IDLE_DB, SCHEMA)
        report("generate share (s)", f"{time.monotonic() - t:.1f}  ({n:,} {TABLE} rows; {len(small)} small tables)")
        rows, secs = source_limit(conn, DB, SCHEMA, TABLE)
        limit = rows / secs
        report(f"source limit: fetch_arrow_batches of {TABLE} (rows/s)", f"{limit:,.0f}  ({rows:,} rows in {secs:.1f}s)")
        full: dict[str, Run] = {}
        try:
            for name, dest in dests.items():
                r = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, dest, datasets[name], f"{work}/dlt-{name}")
                full[name] = r
                rate = n / r.table_seconds()
                report(f"full sync {n:,} rows -> {name} (rows/s)",
                       f"{rate:,.0f} = {rate / limit:.0%} of the source limit; sync {r.table_seconds():.1f}s"
                       f" (process {r.seconds:.1f}s), peak RSS {r.peak_rss_mb:,.0f} MB")
                report(f"  stages, full -> {name}", r.stage_line())
            add_new_rows(conn, DB, SCHEMA, TABLE, "CREATED_AT", max(1, n // 1000))
            for name, dest in dests.items():
                r = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, dest, datasets[name], f"{work}/dlt-{name}")
                report(f"incremental after +0.1 % rows -> {name} (s)",
                       f"{r.table_seconds():.2f} = {r.table_seconds() / full[name].table_seconds():.1%} of the full"
                       f" sync (process {r.seconds:.1f}s); Snowflake {r.queries()}")
                report(f"  stages, incremental -> {name}", r.stage_line())
            for name, dest in dests.items():
                dataset = f"{datasets[name]}_idle"
                learnsync_sync(server, "360learning", IDLE_DB, SCHEMA, None, dest, dataset, f"{work}/dlt-idle-{name}")
                r = learnsync_sync(server, "360learning", IDLE_DB, SCHEMA, None, dest, dataset, f"{work}/dlt-idle-{name}")
                report(f"idle sync of the {len(small)} 360Learning tables -> {name} (s)",
                       f"{r.seconds:.1f} (process, start-up included); Snowflake {r.queries()}")
            if args.big:
                t = time.monotonic()
                big = emulator.generate_perf_share(conn, events=1000, trackings=args.big)[f"{DB}.{SCHEMA}.{TABLE}"]
                report("generate the big table (s)", f"{time.monotonic() - t:.1f}  ({big:,} rows)")
                for name, dest in dests.items():
                    r = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, dest, f"{datasets[name]}_big",
                                       f"{work}/dlt-big-{name}")
                    report(f"peak RSS, full sync -> {name}: {n:,} vs {big:,} rows (MB)",
                           f"{full[name].peak_rss_mb:,.0f} vs {r.peak_rss_mb:,.0f}; {big / r.table_seconds():,.0f}"
                           f" rows/s at {big:,}")
                    report(f"  stages, big full -> {name}", r.stage_line())
        finally:
            if "postgres" in dests:
                for suffix in ("", "_idle", "_big"):
                    drop_pg_schema(datasets["postgres"] + suffix)
        if args.with_stock:
            try:
                rows, secs = stock_dlt(server, DB, SCHEMA, TABLE, f"{work}/stock-dlt.duckdb", 4, f"{work}/dlt-stock")
                report(f"stock dlt sql_table {TABLE} -> duckdb (rows/s)", f"{rows / secs:,.0f}  ({rows} rows)")
            except SystemExit as exc:
                report(f"stock dlt sql_table {TABLE}", f"failed: {str(exc).splitlines()[-1][:200]}")
        if args.with_reconcile:
            bench_reconcile(server, conn, work, report, None)
        conn.close()
    _print(figures)


def _print(figures: list[tuple[str, str]]) -> None:
    print("\nfigures:")
    for name, value in figures:
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
