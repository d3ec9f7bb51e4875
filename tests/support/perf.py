"""Benchmark: `python -m tests.support.perf [--events N] [--trackings N] [--skip-stock]`. Prints figures, asserts nothing.

The emulator runs in its own process; every measured sync is its own `learnsync` process, whose wall time and
peak RSS (from wait4) are reported. Beside them: the source limit (the raw connector's fetch_arrow_batches doing
nothing else) and dlt's stock `sql_table` over snowflake-sqlalchemy with its default backend.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass
from typing import Any, Optional

from learnsync import emulator
from tests.support.warehouses import drop_pg_schema

PG_URI = os.environ.get("LEARNSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = (
    # profile, database, schema, table
    ("datacamp", "DATACAMP", "DATA_CONNECTOR", "FACT_LEARN_EVENTS"),
    ("360learning", "LEARNING_360", "CORE", "COURSES_TRACKINGS"),
)


@dataclass
class Run:
    seconds: float  # wall time of the process, start-up and imports included
    peak_rss_mb: float
    output: str

    def table_seconds(self) -> float:
        """The sync time `learnsync sync` prints for the (single) table."""
        for line in self.output.splitlines():
            m = re.search(r" rows +\d+ +([\d.]+)s ", line)
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


def learnsync_sync(server: Any, profile: str, database: str, schema: str, table: str, dest: str, dataset: str,
                   data_dir: str) -> Run:
    return run_process(
        [sys.executable, "-m", "learnsync.cli", "sync", "--profile", profile, "--tables", table,
         "--source-uri", server.uri(database, schema), "--dest-uri", dest, "--dataset", dataset],
        {"DLT_DATA_DIR": data_dir},
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
    import json

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
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--trackings", type=int, default=1_000_000)
    ap.add_argument("--stock-chunks", type=int, default=4, help="chunks of 50k rows the stock dlt path reads")
    ap.add_argument("--skip-stock", action="store_true")
    ap.add_argument("--only-reconcile", action="store_true", help="only the reconcile benchmark")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="learnsync-perf-")
    figures: list[tuple[str, str]] = []

    def report(name: str, value: str) -> None:
        figures.append((name, value))
        print(f"{name:<58} {value}", flush=True)

    with emulator.serve_in_subprocess() as server:
        conn = server.connect()
        t = time.monotonic()
        counts = emulator.generate_perf_share(conn, events=args.events, trackings=args.trackings)
        report("generate share (s)", f"{time.monotonic() - t:.1f}  {counts}")

        if args.only_reconcile:
            bench_reconcile(server, conn, work, report, None)
            return _print(figures)

        limits = {}
        for _, db, schema, table in TABLES:
            rows, secs = source_limit(conn, db, schema, table)
            limits[table] = rows / secs
            report(f"source limit {table} (rows/s)", f"{rows / secs:,.0f}  ({rows} rows in {secs:.1f}s)")

        full: dict[tuple[str, str], float] = {}
        for dest_name, dest in (("duckdb", f"duckdb:///{work}/perf.duckdb"), ("postgres", PG_URI)):
            dataset = f"perf_{uuid.uuid4().hex[:6]}"
            try:
                for profile, db, schema, table in TABLES:
                    n = counts[f"{db}.{schema}.{table}"]
                    r = learnsync_sync(server, profile, db, schema, table, dest, dataset, f"{work}/dlt-{dest_name}")
                    full[(dest_name, table)] = r.table_seconds()
                    rate = n / r.table_seconds()
                    report(f"learnsync full {table} -> {dest_name} (rows/s)",
                           f"{rate:,.0f}  = {rate / limits[table]:.0%} of source limit; sync {r.table_seconds():.1f}s"
                           f" (process {r.seconds:.1f}s); peak RSS {r.peak_rss_mb:,.0f} MB")
                    if dest_name == "duckdb":
                        add_new_rows(conn, db, schema, table, "OCCURRED_AT" if "EVENTS" in table else "CREATED_AT",
                                     max(1, n // 1000))
                        r2 = learnsync_sync(server, profile, db, schema, table, dest, dataset, f"{work}/dlt-{dest_name}")
                        report(f"learnsync incremental +0.1% {table} -> duckdb (s)",
                               f"{r2.table_seconds():.1f}  = {r2.table_seconds() / r.table_seconds():.1%} of the"
                               f" full sync (process {r2.seconds:.1f}s)")
            finally:
                if dest_name == "postgres":
                    drop_pg_schema(dataset)

        # memory must not grow with the table: the same table at half size
        cur = conn.cursor()
        cur.execute('CREATE DATABASE IF NOT EXISTS "HALF"')
        cur.execute('CREATE SCHEMA IF NOT EXISTS "HALF"."CORE"')
        cur.execute(
            'CREATE OR REPLACE TABLE "HALF"."CORE"."COURSES_TRACKINGS" AS SELECT * FROM'
            f' "LEARNING_360"."CORE"."COURSES_TRACKINGS" ORDER BY "ID" LIMIT {args.trackings // 2}'
        )
        cur.close()
        half = learnsync_sync(server, "360learning", "HALF", "CORE", "COURSES_TRACKINGS",
                              f"duckdb:///{work}/half.duckdb", "perf_half", f"{work}/dlt-half")
        whole = learnsync_sync(server, "360learning", "LEARNING_360", "CORE", "COURSES_TRACKINGS",
                               f"duckdb:///{work}/whole.duckdb", "perf_whole", f"{work}/dlt-whole")
        report("peak RSS, COURSES_TRACKINGS half vs whole (MB)",
               f"{half.peak_rss_mb:,.0f} vs {whole.peak_rss_mb:,.0f}")

        if not args.skip_stock:
            for _, db, schema, table in TABLES:
                try:
                    rows, secs = stock_dlt(server, db, schema, table, f"{work}/stock-dlt.duckdb", args.stock_chunks,
                                           f"{work}/dlt-stock")
                    rate = rows / secs
                    ours = counts[f"{db}.{schema}.{table}"] / full[("duckdb", table)]
                    report(f"stock dlt sql_table {table} -> duckdb (rows/s)",
                           f"{rate:,.0f}  ({rows} rows); learnsync is {ours / rate:.1f}x")
                except SystemExit as exc:
                    report(f"stock dlt sql_table {table}", f"failed: {str(exc).splitlines()[-1][:200]}")
        bench_reconcile(server, conn, work, report, full[("duckdb", "COURSES_TRACKINGS")])
        conn.close()
    _print(figures)


def _print(figures: list[tuple[str, str]]) -> None:
    print("\nfigures:")
    for name, value in figures:
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
