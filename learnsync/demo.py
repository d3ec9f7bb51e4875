"""`learnsync demo`: an emulated share with generated data, synced into a local DuckDB file."""

from __future__ import annotations

import tempfile
import warnings
from typing import Callable

DEMO_SHARES = (
    # profile, database, schema, dataset
    ("360learning", "LEARNING_360", "CORE", "learning_360"),
    ("datacamp", "DATACAMP", "DATA_CONNECTOR", "datacamp"),
)


def run_demo(size: int, dest_uri: str, echo: Callable[[str], None] = print) -> bool:
    """Generate both vendor shares in a local emulator and sync them; True when every table synced."""
    from learnsync import emulator
    from learnsync.cli import _profile, _target, run_sync
    from pipelines.connection import connect, parse_source_uri
    from pipelines.reader import ShareReader

    # the emulator's DB-API copy warning is noise for a user
    warnings.filterwarnings("ignore", module="fakesnow")
    ok = True
    with emulator.emulated_share() as server:
        echo(f"Started an emulated Snowflake share on 127.0.0.1:{server.port}")
        with server.connect() as conn:
            counts = emulator.create_360learning(conn, scale=size)
            counts.update(emulator.create_datacamp(conn, events=5000 * size))
        echo(f"Generated {sum(counts.values())} rows in {len(counts)} tables")
        # the demo's dlt state lives in a throwaway folder; the DuckDB file keeps a copy of it anyway
        with tempfile.TemporaryDirectory(prefix="learnsync-demo-") as pipelines_dir:
            for profile, database, schema, dataset in DEMO_SHARES:
                source = parse_source_uri(server.uri(database, schema))
                conn = connect(source)
                try:
                    reader = ShareReader(conn, source.database, source.schema)
                    results = run_sync(
                        reader, _profile(profile), _target(dest_uri, dataset), dataset, None, False, pipelines_dir
                    )
                finally:
                    conn.close()
                ok = ok and all(r.ok for r in results)
    path = dest_uri.split(":///", 1)[-1]
    echo("")
    echo(f"Done. Try:  duckdb {path} \"SELECT c.name, count(*) AS attempts, avg(t.progress) AS avg_progress"
         " FROM learning_360.courses_trackings t JOIN learning_360.courses c ON c.id = t.course"
         " GROUP BY 1 ORDER BY 2 DESC LIMIT 5\"")
    echo(f"  or in Python: import duckdb; duckdb.connect('{path}').sql('SELECT * FROM"
         " learning_360.users__managers LIMIT 5').show()")
    return ok
