"""The destination registry: a URI -> its module's Target (factory, lock, dialect), or one line saying what is
accepted. Nothing is connected to."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnsync.destinations import KINDS, REGISTRY, dbt_output, resolve
from learnsync.errors import LearnsyncError


def test_duckdb(tmp_path: Path) -> None:
    target = resolve(f"duckdb:///{tmp_path}/w.duckdb", "learning")
    assert target.display == f"duckdb://{tmp_path}/w.duckdb"
    assert target.max_parallel_loads == 1  # DuckDB takes one writer
    assert target.dialect is not None and target.dialect.name == "duckdb" and target.merges
    assert target.identity == resolve(f"duckdb:///{tmp_path}/./w.duckdb", "other").identity  # one file, one name


def test_postgres_without_a_password_and_with_one_masked() -> None:
    trust = resolve("postgresql://postgres@127.0.0.1:5432/test", "learning")  # trust auth: no password needed
    assert trust.display == "postgresql://postgres@127.0.0.1:5432/test" and trust.dialect.name == "postgres"
    masked = resolve("postgres://u:s3cret@db.internal:5432/wh", "learning")
    assert "s3cret" not in masked.display + masked.identity and "***" in masked.display


def test_filesystem_cannot_merge(tmp_path: Path) -> None:
    target = resolve(f"file://{tmp_path}/lake", "learning")
    assert not target.merges and target.dialect is None


def test_bigquery_without_credentials_says_where_to_put_them(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("google.cloud.bigquery")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent")
    with pytest.raises(LearnsyncError, match="No Google credentials for BigQuery"):
        resolve("bigquery://proj?location=EU", "learning")


@pytest.mark.parametrize("uri, needle", [
    ("oracle://x/y", "Unknown destination 'oracle'"),
    ("duckdb:///", "needs a file"),
])
def test_bad_uris(uri: str, needle: str) -> None:
    with pytest.raises(LearnsyncError, match=needle):
        resolve(uri, "x")


def test_a_duckdb_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(LearnsyncError, match="does not exist"):
        resolve(f"duckdb:///{tmp_path}/nope/w.duckdb", "x")


def test_every_scheme_has_one_kind() -> None:
    assert set(REGISTRY) >= {"duckdb", "postgres", "postgresql", "bigquery", "file"}
    assert len({id(k) for k in KINDS}) == len(KINDS)


def test_dbt_outputs_carry_no_secret(tmp_path: Path) -> None:
    assert dbt_output(f"duckdb:///{tmp_path}/w.duckdb", "learning")["type"] == "duckdb"
    out = dbt_output("postgres://u:s3cret@h:5/db", "learning")
    assert out["type"] == "postgres" and "s3cret" not in repr(out) and out["schema"] == "learning"
    with pytest.raises(LearnsyncError, match="dbt cannot build in the destination 'file'"):
        dbt_output(f"file://{tmp_path}", "learning")
    with pytest.raises(LearnsyncError, match="dbt cannot build in the destination 'oracle'"):
        dbt_output("oracle://x/y", "learning")


@pytest.mark.parametrize("form", ["duckdb://{abs}", "duckdb:///{abs}", "duckdb:///./{rel}", "duckdb:{rel}"],
                         ids=["absolute", "absolute-4-slashes", "relative", "bare-relative"])
def test_the_demo_opens_the_duckdb_file_the_destination_loads(form: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's dbt step, its listing and its suggested query read the file the sync wrote: one parser
    (`destinations.duckdb.database_file`), whatever the working directory."""
    from learnsync.demo import _new_lock_folders, try_command
    from learnsync.destinations.duckdb import database_file

    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    uri = form.format(abs=tmp_path / "w.duckdb", rel="w.duckdb")
    want = (tmp_path / "w.duckdb") if "abs" in form else (tmp_path / "work" / "w.duckdb")
    assert resolve(uri, "learning").display == f"duckdb://{want}"
    assert database_file(uri) == want
    assert f'duckdb.connect("{want}"' in try_command(uri)
    assert _new_lock_folders(uri) == [want.parent / ".w.duckdb.locks"]
    assert database_file("postgresql://u@127.0.0.1:5432/db") is None
