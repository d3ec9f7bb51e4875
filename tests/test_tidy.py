"""A tidy warehouse: staging holds no copy once a load committed, Postgres tables get their primary key and
child tables an index on parent_<key>."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0



def _seed(share, n: int, start: datetime = T0, prefix: str = "ct") -> None:
    insert(share, "COURSES_TRACKINGS", [
        {"ID": f"{prefix}{i:04d}", "CREATED_AT": start + timedelta(hours=i), "PROGRESS": i % 100,
         "ACCESS_DATES": [f"2025-12-0{1 + i % 9} 10:00:00"] * (i % 3)}
        for i in range(n)
    ])


def _staged_rows(dest) -> dict[str, int]:
    staging = f"{dest.dataset}_staging"
    tables = [r[0] for r in dest.query(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{staging}'")]
    # dlt's own _dlt_version keeps the schema it staged with: no data
    return {t: dest.query(f'SELECT count(*) FROM "{staging}"."{t}"')[0][0] for t in tables if not t.startswith("_dlt")}


def test_staging_holds_no_copy_after_a_merge_or_a_full_refresh(share, dest):
    if dest.kind == "bigquery":
        pytest.skip("read back through information_schema of the staging dataset (DuckDB, Postgres)")
    create(share, "COURSES_TRACKINGS")
    _seed(share, 120)
    run_sync(share, dest, tables=["COURSES_TRACKINGS"], window_rows=50)
    _seed(share, 5, T0 + timedelta(days=30), prefix="new")
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])  # merges through staging
    staged = _staged_rows(dest)
    assert "courses_trackings" in staged and not any(staged.values()), staged
    run_sync(share, dest, tables=["COURSES_TRACKINGS"], full_refresh=True)  # swaps the table in from staging
    staged = _staged_rows(dest)
    assert "courses_trackings" in staged and not any(staged.values()), staged
    assert_table_equal(share, dest, "COURSES_TRACKINGS")


@pytest.mark.parametrize("dest", ["postgres"], indirect=True)
def test_postgres_tables_get_their_primary_key_and_child_join_indexes(share, dest):
    create(share, "COURSES_TRACKINGS")
    _seed(share, 30)
    run_sync(share, dest, tables=["COURSES_TRACKINGS"])

    def unique_key() -> bool:
        # a text key is unique through its MD5 (issue 20 item 2: keys longer than a btree entry still load)
        defs = [r[0] for r in dest.query("SELECT indexdef FROM pg_indexes WHERE schemaname = '{ds}'"
                                         " AND tablename = 'courses_trackings'")]
        return any("UNIQUE INDEX" in d and "md5(" in d for d in defs)

    def indexes() -> set:
        return set(dest.query(
            "SELECT c.relname, i.indisprimary, array_to_string(array_agg(a.attname ORDER BY k.ord), ',')"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
            " WHERE n.nspname = '{ds}' AND c.relname LIKE 'courses_trackings%' GROUP BY 1, 2, i.indexrelid"))

    assert unique_key() and indexes() == {("courses_trackings__access_dates", False, "parent_id")}
    # the next runs find them there and add nothing; a full refresh keeps them
    again = run_sync(share, dest, tables=["COURSES_TRACKINGS"])
    assert again[0].indexes == 0
    run_sync(share, dest, tables=["COURSES_TRACKINGS"], full_refresh=True)
    assert unique_key() and indexes() == {("courses_trackings__access_dates", False, "parent_id")}
    assert_table_equal(share, dest, "COURSES_TRACKINGS")
