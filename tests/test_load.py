"""Load: every table of both vendor profiles synced at once into Postgres under a connection budget."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("LEARNSYNC_RETRY_BACKOFF", "0")  # before the flows module builds its task

from learnsync import emulator  # noqa: E402
from learnsync.catalog.tables import snake_case  # noqa: E402
from tests.support.warehouses import PG_URI, Dest, Share, drop_pg_schema  # noqa: E402

BUDGET = 5




class _Sampler(threading.Thread):
    """Samples how many server sessions carry our application name, every 20 ms."""

    def __init__(self, app: str) -> None:
        super().__init__(daemon=True)
        self.app, self.most, self.samples = app, 0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg2

        con = psycopg2.connect(PG_URI, application_name="learnsync-sampler")
        con.autocommit = True
        with con.cursor() as cur:
            while not self.stop.is_set():
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (self.app,))
                self.most = max(self.most, cur.fetchone()[0])
                self.samples += 1
                time.sleep(0.02)
        con.close()


@pytest.mark.load
def test_both_profiles_at_once_within_a_connection_budget(server, monkeypatch, prefect_server):
    from learnsync.flows.sync import sync_flow

    app = f"learnsync-load-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", app)  # libpq names every session the run opens
    monkeypatch.setenv("SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD", "snow")
    conn = server.connect()
    shares = {
        "360learning": Share(server, f"L{uuid.uuid4().hex[:8].upper()}", "CORE", conn),
        "datacamp": Share(server, f"D{uuid.uuid4().hex[:8].upper()}", "DATA_CONNECTOR", conn),
    }
    rows = emulator.create_360learning(conn, shares["360learning"].database, "CORE")
    rows.update(emulator.create_datacamp(conn, shares["datacamp"].database, "DATA_CONNECTOR"))
    datasets = {p: f"t_{uuid.uuid4().hex[:10]}" for p in shares}
    states: dict[str, object] = {}
    sampler = _Sampler(app)
    try:
        sampler.start()
        started = time.monotonic()

        def run(profile: str) -> None:
            share = shares[profile]
            states[profile] = sync_flow(
                profile=profile, source_uri=share.uri.replace("fake:snow@", "fake@"), destination=PG_URI,
                dataset=datasets[profile], max_connections=BUDGET, return_state=True)

        threads = [threading.Thread(target=run, args=(p,)) for p in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        print(f"{len(rows)} tables, {sum(rows.values())} rows in {took:.0f} s;"
              f" at most {sampler.most} connections (budget {BUDGET}, {sampler.samples} samples)")
        for profile, state in states.items():
            assert state.is_completed(), (profile, state.message)
        assert 0 < sampler.most <= BUDGET
        for profile, share in shares.items():
            dest = Dest("postgres", PG_URI, datasets[profile], Path("."))
            for table in _tables(share):
                # row for row on keys and counts: values are compared by the sync tests; here '' would differ
                # from NULL (see test_empty_strings_survive_postgres)
                assert dest.query(f'SELECT count(*) FROM "{{ds}}"."{snake_case(table)}"') == [(rows[table],)], table
    finally:
        sampler.stop.set()
        conn.close()
        for ds in datasets.values():
            drop_pg_schema(ds)


def _tables(share: Share) -> set[str]:
    return {r[0] for r in share.sql(
        f"SELECT table_name FROM \"{share.database}\".information_schema.tables WHERE table_schema = '{share.schema}'")}
