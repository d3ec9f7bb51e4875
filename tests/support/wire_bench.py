"""Benchmark: `python -m tests.support.wire_bench [--rows N] [--chunk-rows N ...]`. Prints figures, asserts nothing.

Rows/s of the raw connector's `fetch_arrow_batches` reading LEARNING_360.CORE.COURSES_TRACKINGS (14 columns, one
of them an ARRAY of JSON text) from an emulator in its own process, through fakesnow's plain answers and through
the realistic wire (`learnsync.emulator.wire`) at each chunk size. The wall time includes the emulator's work:
the realistic wire decodes fakesnow's answer and re-encodes it before the connector downloads the chunks.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from learnsync import emulator
from learnsync.emulator.wire import WireConfig

TABLE = '"LEARNING_360"."CORE"."COURSES_TRACKINGS"'


def read(conn: Any) -> tuple[int, int, int, float]:
    """Rows, batches, distinct batch schemas and seconds of one full read."""
    started = time.perf_counter()
    cur = conn.cursor()
    try:
        cur.execute(f"SELECT * FROM {TABLE}")
        rows = batches = 0
        schemas = set()
        for table in cur.fetch_arrow_batches():
            rows += table.num_rows
            batches += 1
            schemas.add(table.schema.to_string(show_schema_metadata=False))
    finally:
        cur.close()
    return rows, batches, len(schemas), time.perf_counter() - started


def measure(label: str, wire: WireConfig | str, rows: int, repeat: int) -> None:
    with emulator.serve_in_subprocess(wire=wire, startup_timeout=60) as server:
        with server.connect() as conn:
            emulator.generate_perf_share(conn, events=0, trackings=rows)
            best = None
            for _ in range(repeat):
                got = read(conn)
                best = got if best is None or got[3] < best[3] else best
    assert best is not None
    n, batches, schemas, seconds = best
    print(f"{label:<28} {n:>8} rows {batches:>5} batches {schemas:>3} schemas {seconds:>7.2f} s"
          f" {n / seconds:>10,.0f} rows/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.wire_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="course trackings (default 200000)")
    parser.add_argument("--chunk-rows", type=int, action="append", help="realistic wire chunk size (repeatable; "
                        "default 1000, the WireConfig default, and 100000)")
    parser.add_argument("--repeat", type=int, default=2, help="reads per wire, the best is shown (default 2)")
    args = parser.parse_args()
    measure("plain (fakesnow)", "plain", args.rows, args.repeat)
    for chunk_rows in args.chunk_rows or [1000, 100_000]:
        measure(f"realistic, {chunk_rows} rows/chunk", WireConfig(chunk_rows=chunk_rows), args.rows, args.repeat)


if __name__ == "__main__":
    main()
