"""Benchmark: `python -m tests.perf [--trackings N] [--big N[,N...]] [--with-peers] [--with-reconcile]`. Prints
figures, asserts nothing (issue 22's table, for DuckDB and Postgres, on the realistic wire).

Measured one core each, as a new user would run the tools: the emulator (every thread of it) is pinned to core 0,
every measured process to core 1, so the emulator's own CPU does not decide the figure. Each measured run is its
own process, of which the benchmark reports wall time, CPU seconds (user + system from wait4's rusage: the
process and the children it waited for) and peak RSS (VmHWM of the process, plus that of any child process it ran).
Rows of the table:

- the source limit: the raw connector's `fetch_arrow_batches` of COURSES_TRACKINGS, doing nothing else;
- learnsync into DuckDB and into Postgres (`learnsync sync -v`, child tables included); for Postgres, the server's
  own CPU beside it (all postgres processes, exited backends included, so other clients of the server count too);
- with `--with-peers`: ingestr 0.14 (dlt), Sling 1.4.11 (`use_bulk=false`) and stock dlt `sql_table` with the
  pyarrow backend, from a venv of their own (tests/perf_peers.py); a peer that cannot run prints `failed: why`.

Columns: the full load, an incremental run after +1,000 rows, and how the ACCESS_DATES array lands. Then learnsync's
peak RSS at `--big` sizes, an idle sync of the 18 360Learning tables, and each learnsync run's stage breakdown.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from learnsync import emulator
from learnsync.emulator.wire import WireConfig
from tests import perf_peers
from tests.support.warehouses import drop_pg_schema

PG_URI = os.environ.get("LEARNSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DB, SCHEMA, TABLE = "LEARNING_360", "CORE", "COURSES_TRACKINGS"
ARRAY_COLUMN = "ACCESS_DATES"
# the peers' cursor: CREATED_AT has NULLs (as on the share), which stop ingestr's and stock dlt's incremental
BENCH = perf_peers.Table(DB, SCHEMA, TABLE, key="ID", cursor="LAST_ACCESSED_AT", array_column=ARRAY_COLUMN)
IDLE_DB = "IDLE360"
NEW_ROWS = 1_000
EMULATOR_CORE, MEASURED_CORE = 0, 1
# the realistic wire, its gzip chunks marked with Content-Encoding as S3 may: ingestr's pinned connector (3.18)
# decompresses them only then; for learnsync's (4.x) urllib3 decompresses them instead of the connector
WIRE = WireConfig(gzip_encoding_header=True)


@dataclass
class Run:
    seconds: float  # wall time of the process, start-up and imports included
    cpu: float  # user + system seconds of the process and of the children it waited for
    peak_rss_mb: float
    output: str

    def figures(self) -> str:
        return f"{self.seconds:.1f} / {self.cpu:.1f}"

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


class Failed(Exception):
    """A measured command failed; its message is one line saying why, `output` all it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


# --------------------------------------------------------------------------------------------------------------
# one core each


def pinning() -> bool:
    """Whether cores 0 and 1 are ours to pin to (else every process runs where the scheduler puts it)."""
    return {EMULATOR_CORE, MEASURED_CORE} <= os.sched_getaffinity(0)


def pin_process(pid: int, core: int) -> None:
    """Pin every thread of a running process (threads started later inherit the affinity of their creator)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {core})
        except (ProcessLookupError, PermissionError):
            pass


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> set[int]:
    """Descendant processes of pid, from each process's parent id in /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def run_process(args: list[str], env: dict[str, str], cwd: Optional[str] = None) -> Run:
    """Run a command on the measured core: wall time, CPU (wait4's rusage) and peak RSS (VmHWM, children added).

    VmHWM rather than rusage's ru_maxrss, which would include this benchmark's own RSS at fork."""
    core = MEASURED_CORE if pinning() else None
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env}, cwd=cwd,
            preexec_fn=(lambda: os.sched_setaffinity(0, {core})) if core is not None else None,
        )
        peaks: dict[int, int] = {}
        polls = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            # children are rare (Sling's DuckDB CLI): look for them twice a second
            for watched in {proc.pid, *(_children(proc.pid) if polls % 10 == 0 else peaks)}:
                # max: an exited process (a zombie until reaped) has no VmHWM any more
                peaks[watched] = max(peaks.get(watched, 0), _status_kb(watched, "VmHWM:"))
            polls += 1
            time.sleep(0.05)
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise Failed(f"{os.path.basename(args[0])} exited with {proc.returncode}: {_last_error(text)}", text)
    return Run(seconds, usage.ru_utime + usage.ru_stime, sum(peaks.values()) / 1024, text)


def _last_error(text: str) -> str:
    """The most telling line of a failed command's output, trimmed."""
    lines = [ln.strip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines() if ln.strip()]
    telling = [ln for ln in lines if re.search(r"error|exception|failed|fatal", ln, re.I)]
    return ((telling or lines or ["no output"])[-1])[:240]


def postgres_cpu() -> float:
    """CPU seconds of the Postgres server so far: every postgres process, plus the backends that have exited
    (their time is in the postmaster's children times)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, rest = f.read().rsplit(")", 1)
            except OSError:
                continue
            if head.split("(", 1)[1] == "postgres":
                fields = rest.split()
                procs[int(entry)] = (int(fields[1]), fields)
    total = 0
    for _pid, (ppid, fields) in procs.items():
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if ppid not in procs:  # the postmaster: cutime, cstime of its reaped backends
            total += int(fields[13]) + int(fields[14])
    return total / tick


# --------------------------------------------------------------------------------------------------------------
# the runs


SOURCE_LIMIT = """
import json, sys, snowflake.connector
conn = snowflake.connector.connect(**json.loads(sys.argv[1]))
cur = conn.cursor()
cur.execute(sys.argv[2])
print("ROWS", sum(batch.num_rows for batch in cur.fetch_arrow_batches()))
"""


def source_limit(server: Any) -> tuple[int, Run]:
    """The raw connector's `fetch_arrow_batches` of the table, in a process of its own on the measured core."""
    r = run_process([sys.executable, "-c", SOURCE_LIMIT, json.dumps(server.connect_kwargs),
                     f'SELECT * FROM "{DB}"."{SCHEMA}"."{TABLE}"'], {})
    return int(r.output.split("ROWS ", 1)[1].split()[0]), r


def learnsync_sync(server: Any, profile: str, database: str, schema: str, table: Optional[str], dest: str,
                   dataset: str, data_dir: str, interpreter: tuple[str, ...] = (sys.executable,)) -> Run:
    """`learnsync sync -v` of one table (None: every table of the profile) in its own process; `interpreter`: what
    runs `-m learnsync.cli ...` (a profiler's command line ending in the interpreter, for tests/perf_profile.py)."""
    return run_process(
        [*interpreter, "-m", "learnsync.cli", "sync", "-v", "--no-progress", "--profile", profile,
         *(["--tables", table] if table else []),
         "--source-uri", server.uri(database, schema), "--dest-uri", dest, "--dataset", dataset],
        {"DLT_DATA_DIR": data_dir, "RUNTIME__LOG_LEVEL": "WARNING"},
    )


def learnsync_landing(dest: str, dataset: str) -> tuple[int, str]:
    """Rows of COURSES_TRACKINGS in learnsync's destination, and how its arrays landed."""
    table = TABLE.lower()
    if dest.startswith("duckdb:///"):
        import duckdb

        with duckdb.connect(dest[len("duckdb:///"):], read_only=True) as con:
            rows = con.execute(f'SELECT COUNT(*) FROM "{dataset}"."{table}"').fetchone()[0]
            names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                               [dataset]).fetchall()]
    else:
        import psycopg2  # dlt's Postgres driver

        with psycopg2.connect(dest) as con, con.cursor() as cur:
            cur.execute(f'SELECT COUNT(*) FROM "{dataset}"."{table}"')
            rows = cur.fetchone()[0]
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (dataset,))
            names = [r[0] for r in cur.fetchall()]
        con.close()
    child = any(name.startswith(f"{table}__{ARRAY_COLUMN.lower()}") for name in names)
    return int(rows), "child table" if child else "in the table"


def learnsync_at_size(server: Any, name: str, dest: str, rows: int, dataset: str, work: str,
                      report: Callable[[str, str], None]) -> str:
    """A full sync of the (regenerated) table into a dataset of its own: its peak RSS, or why it failed."""
    dataset = f"{dataset}_big{rows}"
    try:
        r = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, dest, dataset, f"{work}/dlt-big{rows}-{name}")
    except Failed as exc:
        report(f"peak RSS, full sync of {rows:,} rows -> {name} (MB)", f"failed: {exc}")
        return f"failed: {exc}"
    finally:
        if name == "postgres":
            drop_pg_schema(dataset)
    report(f"peak RSS, full sync of {rows:,} rows -> {name} (MB)", f"{r.peak_rss_mb:,.0f}; wall / CPU s {r.figures()}")
    report(f"  stages, big full -> {name}", r.stage_line())
    return f"{r.peak_rss_mb:,.0f} MB"


def add_new_rows(conn: Any, database: str, schema: str, table: str, stamps: tuple[str, ...], n: int) -> None:
    """Copy n existing rows with new keys, the `stamps` columns one hour past the newest of them: new rows for
    every tool's cursor (learnsync's CREATED_AT, the peers' LAST_ACCESSED_AT)."""
    fq = f'"{database}"."{schema}"."{table}"'
    cur = conn.cursor()
    cur.execute("SELECT GREATEST(" + ", ".join(f'MAX("{c}")' for c in stamps) + f") FROM {fq}")
    newest = cur.fetchall()[0][0]
    cur.execute(f'SELECT COLUMN_NAME FROM "{database}".INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = %s'
                " ORDER BY ORDINAL_POSITION", (table,))
    cols = [r[0] for r in cur.fetchall()]
    exprs = []
    for c in cols:
        if c in stamps:
            exprs.append("DATEADD(hour, 1, %(newest)s::TIMESTAMP_NTZ)")
        elif c == "ID":
            exprs.append(f"'new-{uuid.uuid4().hex[:6]}-' || \"ID\"")
        else:
            exprs.append(f'"{c}"')
    cur.execute(f"INSERT INTO {fq} SELECT {', '.join(exprs)} FROM {fq} LIMIT {n}", {"newest": newest})
    cur.close()


def bench_reconcile(server: Any, conn: Any, work: str, report: Callable[[str, str], None]) -> None:
    """0.01 % of COURSES_TRACKINGS changed without touching its cursor (90 updated in place, 10 hard-deleted):
    `learnsync reconcile` against a full re-read of the table (a full refresh)."""
    dest, dataset, data_dir = f"duckdb:///{work}/reconcile.duckdb", "perf_reconcile", f"{work}/dlt-reconcile"
    first = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, dest, dataset, data_dir)
    fq = f'"{DB}"."{SCHEMA}"."{TABLE}"'
    cur = conn.cursor()
    cur.execute(f"SELECT COUNT(*) FROM {fq}")
    n = cur.fetchall()[0][0]
    # spread over the key space: ordered by another hash than the buckets' MD5(key)
    pick = f'SELECT "ID" FROM {fq} ORDER BY MD5("ID" || \'x\')'
    cur.execute(f'UPDATE {fq} SET "PROGRESS" = ("PROGRESS" + 1) % 101 WHERE "ID" IN ({pick} LIMIT 90)')
    cur.execute(f'DELETE FROM {fq} WHERE "ID" IN ({pick} LIMIT 10 OFFSET 500)')
    cur.close()
    args = ["--profile", "360learning", "--tables", TABLE, "--source-uri", server.uri(DB, SCHEMA),
            "--dest-uri", dest, "--dataset", dataset]
    run = run_process([sys.executable, "-m", "learnsync.cli", "reconcile", "--json", *args], {"DLT_DATA_DIR": data_dir})
    r = json.loads([ln for ln in run.output.splitlines() if ln.startswith("{")][-1])
    report(f"reconcile {n:,} rows, 0.01% changed -> duckdb (wall / CPU s)",
           f"{run.figures()} (peak RSS {run.peak_rss_mb:,.0f} MB) vs the full load {first.figures()}")
    report("reconcile found (updated, inserted, deleted)", f"{r['updated']}, {r['inserted']}, {r['deleted']}")
    report("reconcile transferred from the share",
           f"{r['rows_fetched']} rows + {r['fingerprints']} key fingerprints (both sides) + {r['buckets']} bucket"
           f" summaries, vs {n:,} rows for a full re-read")
    again = run_process([sys.executable, "-m", "learnsync.cli", "reconcile", "--dry-run", "--json", *args],
                        {"DLT_DATA_DIR": data_dir})
    r2 = json.loads([ln for ln in again.output.splitlines() if ln.startswith("{")][-1])
    report("reconcile again, nothing changed (wall / CPU s)", f"{again.figures()}, drift {r2['drift']}")


# --------------------------------------------------------------------------------------------------------------
# the table


@dataclass
class Row:
    """One tool's row of the table: its runs (None until run) or why it failed."""

    tool: str
    full: Optional[Run] = None
    incremental: Optional[Run] = None
    arrays: str = "-"
    notes: dict[str, str] = field(default_factory=dict)  # beside a phase's figures: the Postgres server's CPU
    failed: str = ""

    def cells(self) -> list[str]:
        if self.failed:
            return [self.tool, f"failed: {self.failed}", "", "", ""]
        full = f"{self.full.figures()}{self.notes.get('full', '')}" if self.full else "-"
        rss = f"{self.full.peak_rss_mb:,.0f} MB" if self.full else "-"
        incremental = (f"{self.incremental.figures()}{self.notes.get('incremental', '')}"
                       if self.incremental else "-")
        return [self.tool, full, rss, incremental, self.arrays]


HEADER = ["tool", "full load wall / CPU s", "peak RSS", f"incremental (+{NEW_ROWS:,} rows) wall / CPU s", "arrays"]


def table_text(rows: list[Row]) -> str:
    """The table as Markdown, as in the issue."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def attempt(row: Row, what: Callable[[], None]) -> None:
    """Run one step of a row; a failure marks the row failed (one line) and the benchmark goes on."""
    if row.failed:
        return
    try:
        what()
    except Failed as exc:
        row.failed = str(exc)
    except Exception as exc:  # noqa: BLE001 - a peer's trouble must not stop the other rows
        row.failed = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def main(argv: Optional[list[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trackings", type=int, default=1_000_000, help="COURSES_TRACKINGS rows (default 1,000,000)")
    ap.add_argument("--big", default="4000000",
                    help="rows of learnsync's memory runs at size, comma-separated (default 4000000; 0: skip)")
    ap.add_argument("--dest", choices=["duckdb", "postgres", "both"], default="both")
    ap.add_argument("--with-peers", action="store_true",
                    help="also ingestr 0.14, Sling 1.4.11 and stock dlt sql_table (installed into a venv of their own)")
    ap.add_argument("--with-reconcile", action="store_true", help="also learnsync reconcile after 0.01 %% changed")
    args = ap.parse_args(argv)
    try:
        big_sizes = [int(x.replace("_", "")) for x in args.big.split(",") if x.strip() and int(x.replace("_", ""))]
    except ValueError:
        ap.error("--big takes row counts separated by commas, e.g. --big 4000000,16000000")
    work = tempfile.mkdtemp(prefix="learnsync-perf-")
    figures: list[tuple[str, str]] = []

    def report(name: str, value: str) -> None:
        figures.append((name, value))
        print(f"{name:<60} {value}", flush=True)

    if pinning():
        os.sched_setaffinity(0, {EMULATOR_CORE})  # this benchmark's sampling stays off the measured core
        report("cores", f"emulator and this benchmark on core {EMULATOR_CORE}, each measured process on core"
                        f" {MEASURED_CORE}")
    else:
        report("cores", "cores 0 and 1 are not both available: nothing pinned, figures include the emulator's load")
    # other processes may run on core 1 too: they stretch wall times, hardly CPU seconds
    report("load average at the start (1, 5, 15 min)", ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    peers: Optional[perf_peers.Peers] = None
    if args.with_peers:
        peers = perf_peers.prepare(work, lambda text: report("peers", text))
    dests = {"duckdb": f"duckdb:///{work}/perf.duckdb", "postgres": PG_URI}
    if args.dest != "both":
        dests = {args.dest: dests[args.dest]}
    datasets = {name: f"perf_{uuid.uuid4().hex[:6]}" for name in dests}
    big_rss: list[str] = []
    with emulator.serve_in_subprocess(wire=WIRE) as server:
        if pinning() and server.pid:
            pin_process(server.pid, EMULATOR_CORE)
        conn = server.connect()
        t = time.monotonic()
        n = emulator.generate_perf_share(conn, events=1000, trackings=args.trackings)[f"{DB}.{SCHEMA}.{TABLE}"]
        small = emulator.create_360learning(conn, IDLE_DB, SCHEMA)
        report("generate share (s)", f"{time.monotonic() - t:.1f}  ({n:,} {TABLE} rows; {len(small)} small tables)")
        limit = Row("raw `fetch_arrow_batches` (the source limit)")
        mine = {name: Row(f"learnsync into {'DuckDB' if name == 'duckdb' else 'Postgres'}") for name in dests}
        others = peers.rows(server, BENCH, Row, run_process) if peers else []

        def measure_limit() -> None:
            rows, limit.full = source_limit(server)
            report(f"source limit: fetch_arrow_batches of {rows:,} rows (wall / CPU s)",
                   f"{limit.full.figures()}, {rows / limit.full.seconds:,.0f} rows/s")

        attempt(limit, measure_limit)

        def learnsync_run(name: str, phase: str) -> None:
            row = mine[name]
            before = postgres_cpu()
            r = learnsync_sync(server, "360learning", DB, SCHEMA, TABLE, dests[name], datasets[name], f"{work}/dlt-{name}")
            server_cpu = ""
            if name == "postgres":
                spent = postgres_cpu() - before
                server_cpu, row.notes[phase] = f"; Postgres server {spent:.1f} CPU s", f" (+ Postgres server {spent:.1f})"
            setattr(row, phase, r)
            rows, row.arrays = learnsync_landing(dests[name], datasets[name])
            report(f"{phase} -> {name} (wall / CPU s)",
                   f"{r.figures()}, peak RSS {r.peak_rss_mb:,.0f} MB, {rows:,} rows in the table{server_cpu}"
                   f"; Snowflake {r.queries()}")
            report(f"  stages, {phase} -> {name}", r.stage_line())

        try:
            for name in dests:
                attempt(mine[name], lambda: learnsync_run(name, "full"))
            for peer in others:
                attempt(peer.row, lambda: peer.run("full", report))
            add_new_rows(conn, DB, SCHEMA, TABLE, ("CREATED_AT", BENCH.cursor), NEW_ROWS)
            for name in dests:
                attempt(mine[name], lambda: learnsync_run(name, "incremental"))
            for peer in others:
                attempt(peer.row, lambda: peer.run("incremental", report))
            # the order: the source limit, learnsync into DuckDB, the peers (into DuckDB), into Postgres
            table = table_text([limit, *[mine[k] for k in ("duckdb",) if k in mine], *[p.row for p in others],
                                *[mine[k] for k in ("postgres",) if k in mine]])
            print(f"\n{table}\n", flush=True)  # now too: the runs at size take long and may fail
            for name, dest in dests.items():
                idle = (server, "360learning", IDLE_DB, SCHEMA, None, dest, f"{datasets[name]}_idle",
                        f"{work}/dlt-idle-{name}")
                what = f"idle sync of the {len(small)} 360Learning tables -> {name} (wall / CPU s)"
                try:
                    learnsync_sync(*idle)
                    r = learnsync_sync(*idle)  # the second run finds every table unchanged
                    report(what, f"{r.figures()}; Snowflake {r.queries()}")
                except Failed as exc:
                    report(what, f"failed: {exc}")
            for size in big_sizes:
                t = time.monotonic()
                big = emulator.generate_perf_share(conn, events=1000, trackings=size)[f"{DB}.{SCHEMA}.{TABLE}"]
                report("generate the big table (s)", f"{time.monotonic() - t:.1f}  ({big:,} rows)")
                for name, dest in dests.items():
                    peak = learnsync_at_size(server, name, dest, big, datasets[name], work, report)
                    big_rss.append(f"{name} {big:,} rows: {peak}")
        finally:
            if "postgres" in dests:
                for suffix in ("", "_idle"):
                    drop_pg_schema(datasets["postgres"] + suffix)
        if args.with_reconcile:
            bench_reconcile(server, conn, work, report)
        conn.close()
    report("load average at the end (1, 5, 15 min)", ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"\n{n:,} {TABLE} rows, one core each (CPU s: user + system of the measured process; into Postgres,"
          " + the server's own CPU s):\n")
    print(table)
    if big_rss:
        print("\nlearnsync's peak RSS, full load at size: " + "; ".join(big_rss))
    if peers:
        print("\n" + peers.notes(BENCH))
    _print(figures)


def _print(figures: list[tuple[str, str]]) -> None:
    print("\nfigures:")
    for name, value in figures:
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()
