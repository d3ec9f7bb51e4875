"""Security: Snowflake logins beyond passwords, no secret in any output, personal-data column policies.

Logins go to an emulator whose login handler checks credentials like Snowflake (tests/support/auth_server.py), so a
test passes only if the connector really sent the right password, key-pair JWT or token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import uuid
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from learnsync import emulator
from learnsync.errors import LearnsyncError
from learnsync.pipelines.snowflake.connection import connect, parse_source_uri
from tests.support.auth_server import Accounts
from tests.support.warehouses import Dest
from tests.support.helpers import assert_table_equal, create, insert, run_sync
from tests.support.rows import T0, skills

CREDS = "SOURCES__LEARNSYNC__CREDENTIALS__"


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[Any, Accounts]]:
    """A second emulator in this process (same data as `server`) that checks every login."""
    accounts = Accounts()
    with emulator.emulated_share(wrap=accounts.middleware) as srv:
        yield srv, accounts


@pytest.fixture
def accounts(guarded: tuple[Any, Accounts]) -> Iterator[Accounts]:
    _, acc = guarded
    acc.password, acc.public_key, acc.pat, acc.oauth = None, None, None, None
    acc.logins.clear()
    yield acc


def _key(passphrase: str | None = None) -> tuple[Any, str]:
    """A new RSA key: (its public key, its PEM, encrypted when a passphrase is given)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    crypt = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
             else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, crypt).decode()
    return key.public_key(), pem


def _uri(guarded: tuple[Any, Accounts], share: Any, authenticator: str | None, user: str = "reader") -> str:
    srv, _ = guarded
    auth = f"&authenticator={authenticator}" if authenticator else ""
    return f"snowflake://{user}@fakesnow/{share.database}/{share.schema}?host={srv.host}&port={srv.port}&protocol=http{auth}"


class _Via:
    """A share seen through the guarded emulator: what tests.support.helpers.run_sync needs (`uri`, `conn`, ...)."""

    def __init__(self, share: Any, uri: str) -> None:
        self.share, self.uri = share, uri
        self.database, self.schema, self.conn = share.database, share.schema, share.conn


def _duckdb(tmp_path: Path) -> Dest:
    path = tmp_path / "w.duckdb"
    return Dest("duckdb", f"duckdb:///{path}", "learning", path)


@pytest.mark.parametrize("method", ["password", "key_file_encrypted", "key_secret", "pat", "oauth"])
def test_each_login_method_syncs_and_sends_its_credential(method, guarded, accounts, share, tmp_path, monkeypatch):
    skills(share, step=timedelta(hours=1))
    authenticator = {"password": None, "key_file_encrypted": None, "key_secret": "snowflake_jwt",
                     "pat": "programmatic_access_token", "oauth": "oauth"}[method]
    if method == "password":
        accounts.password = "pw-1"
        monkeypatch.setenv(CREDS + "PASSWORD", "pw-1")
    elif method == "key_file_encrypted":
        accounts.public_key, pem = _key("pass-phrase-1")
        (tmp_path / "rsa_key.p8").write_text(pem)
        monkeypatch.setenv(CREDS + "PRIVATE_KEY_PATH", str(tmp_path / "rsa_key.p8"))
        monkeypatch.setenv(CREDS + "PRIVATE_KEY_PASSPHRASE", "pass-phrase-1")
    elif method == "key_secret":
        accounts.public_key, pem = _key()
        monkeypatch.setenv(CREDS + "PRIVATE_KEY", pem)
    else:
        setattr(accounts, method, f"{method}-token-1")
        monkeypatch.setenv(CREDS + "TOKEN", f"{method}-token-1")
        # a password lying around must not be what logs in
        monkeypatch.setenv(CREDS + "PASSWORD", f"{method}-token-1")
    dest = _duckdb(tmp_path)
    run_sync(_Via(share, _uri(guarded, share, authenticator)), dest, tables=["SKILLS"])
    assert_table_equal(share, dest, "SKILLS")
    expected = {"password": "SNOWFLAKE", "pat": "PROGRAMMATIC_ACCESS_TOKEN", "oauth": "OAUTH"}.get(method, "SNOWFLAKE_JWT")
    assert accounts.logins and all(lg.ok and lg.authenticator == expected for lg in accounts.logins), accounts.logins
    if expected == "SNOWFLAKE_JWT":
        assert accounts.logins[0].claims["sub"] == "FAKESNOW.READER"


def _login_error(uri: str) -> str:
    with pytest.raises(LearnsyncError) as err:
        connect(parse_source_uri(uri)).close()
    message = str(err.value)
    assert "\n" not in message and not any(s in message for s in ("wrong-phrase", "not-the-pat", "wrong-password"))
    return message


def test_refused_credentials_are_one_clear_line(guarded, accounts, share, tmp_path, monkeypatch):
    accounts.public_key, pem = _key("right-phrase")
    accounts.pat, accounts.password = "the-pat", "the-password"
    key_file = tmp_path / "rsa_key.p8"
    key_file.write_text(pem)
    jwt_uri = _uri(guarded, share, "snowflake_jwt")

    monkeypatch.setenv(CREDS + "PRIVATE_KEY_PATH", str(key_file))
    monkeypatch.setenv(CREDS + "PRIVATE_KEY_PASSPHRASE", "wrong-phrase")
    assert "check private_key_passphrase" in _login_error(jwt_uri)
    from tests.support.cli import assert_user_error, in_process  # the same through the command line: one line, exit 2

    proc = in_process("tables", "--source-uri", jwt_uri, cwd=tmp_path)
    assert_user_error(proc, "private_key_passphrase")
    assert "wrong-phrase" not in proc.stdout + proc.stderr
    monkeypatch.delenv(CREDS + "PRIVATE_KEY_PASSPHRASE")
    assert "is encrypted: set private_key_passphrase" in _login_error(jwt_uri)
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    assert "is not a PEM private key" in _login_error(jwt_uri)
    key_file.unlink()
    assert f"Cannot read the Snowflake private key file {key_file}" in _login_error(jwt_uri)
    _, other = _key()  # a valid key whose public key the user does not have
    key_file.write_text(other)
    assert "RSA_PUBLIC_KEY matches" in _login_error(jwt_uri)
    assert [lg.ok for lg in accounts.logins] == [False]  # only the readable key reached the server

    monkeypatch.delenv(CREDS + "PRIVATE_KEY_PATH")
    monkeypatch.setenv(CREDS + "TOKEN", "not-the-pat")
    assert "programmatic access token" in _login_error(_uri(guarded, share, "programmatic_access_token"))
    monkeypatch.delenv(CREDS + "TOKEN")
    assert "No Snowflake OAuth access token" in _login_error(_uri(guarded, share, "oauth"))
    assert "Unknown authenticator 'externalbrowser'" in _login_error(_uri(guarded, share, "externalbrowser"))
    assert "check the user and password" in _login_error(
        _uri(guarded, share, None, user="reader:wrong-password"))


@pytest.mark.parametrize("method", ["password", "key-pair"])
def test_flows_log_in_with_a_prefect_snowflake_credentials_block(method, guarded, accounts, share, tmp_path,
                                                                monkeypatch, prefect_server):
    """The Prefect path takes its login from a prefect-snowflake SnowflakeCredentials block: the flow's parameters
    name the block, the URI names the share, no secret sits in dlt secrets or the environment."""
    from prefect_snowflake import SnowflakeCredentials
    from pydantic import SecretBytes, SecretStr

    from learnsync.flows.sync import sync_flow

    skills(share, step=timedelta(hours=1))
    monkeypatch.chdir(tmp_path)
    if method == "password":
        accounts.password = "block-pw-1"
        block = SnowflakeCredentials(account="fakesnow", user="reader", password=SecretStr("block-pw-1"))
    else:
        accounts.public_key, pem = _key("block-phrase")
        block = SnowflakeCredentials(account="fakesnow", user="reader", private_key=SecretBytes(pem.encode()),
                                     private_key_passphrase=SecretStr("block-phrase"))
    dest = _duckdb(tmp_path)
    block.save(f"ls-{method}", overwrite=True)
    state = sync_flow(tables=["SKILLS"], source_uri=_uri(guarded, share, None), destination=dest.uri,
                      dataset=dest.dataset, credentials_block=f"ls-{method}", return_state=True)
    assert state.is_completed(), state.message
    assert_table_equal(share, dest, "SKILLS")
    expected = "SNOWFLAKE" if method == "password" else "SNOWFLAKE_JWT"
    assert accounts.logins and all(lg.ok and lg.authenticator == expected for lg in accounts.logins), accounts.logins


# -- personal data policies -----------------------------------------------------------------------------------

SALT = "pepper-3c1d"
POLICY = "SOURCES__LEARNSYNC__TABLES__{}__COLUMN_POLICY"


def _people(share: Any) -> None:
    create(share, "USERS")
    create(share, "FACT_PERMISSION_EVENTS")
    emails = ["ada@example.com", "grace@example.com", None, "O'Brien@Example.com", "ada2@example.com"]
    insert(share, "USERS", [
        {"ID": f"u{i}", "CREATED_AT": T0 + timedelta(hours=i), "EMAIL": e, "FIRST_NAME": f"First{i}",
         "LAST_NAME": None if i == 1 else f"Last{i}", "DELETED": i == 4, "MANAGERS": ["u0"] if i else []}
        for i, e in enumerate(emails)
    ])
    insert(share, "FACT_PERMISSION_EVENTS", [
        {"USER_ID": i, "EMAIL": e, "DATE_ID": 20260101, "EVENT_NAME": "invite_sent", "OCCURRED_AT": T0 + timedelta(days=i)}
        for i, e in enumerate(["ada@example.com", "grace@example.com", None, "O'Brien@Example.com", "nobody@x.org"])
    ])


def _sha(value: str | None) -> str | None:
    import hashlib

    return None if value is None else hashlib.sha256((SALT + value).encode()).hexdigest()


def test_column_policies_hash_and_exclude(share, dest, monkeypatch):
    from learnsync.catalog.tables import snake_case
    from tests.support.helpers import DOCS, JSON_TYPES, _sorted, comparable, dest_rows, source_rows

    _people(share)
    monkeypatch.setenv(POLICY.format("USERS"), '{"EMAIL": "hash", "FIRST_NAME": "exclude"}')
    monkeypatch.setenv(POLICY.format("FACT_PERMISSION_EVENTS"), '{"EMAIL": "hash"}')
    monkeypatch.setenv("SOURCES__LEARNSYNC__PII_SALT", SALT)
    run_sync(share, dest, profile="auto", tables=["USERS", "FACT_PERMISSION_EVENTS"])

    for table, excluded in (("USERS", {"FIRST_NAME"}), ("FACT_PERMISSION_EVENTS", set())):
        columns = [c for c in DOCS[table].columns if c.name not in excluded]
        names = [c.name for c in columns]
        json_at = [i for i, c in enumerate(columns) if c.sf_type in JSON_TYPES]
        expected = _sorted(comparable([_sha(r[n]) if n == "EMAIL" else r[n] for n in names], json_at, False)
                           for r in source_rows(share, table))
        got = _sorted(comparable(r, json_at, True)
                      for r in dest_rows(dest, snake_case(table), [snake_case(n) for n in names]))
        assert got == expected, table
    columns = set(dest.columns("users"))
    assert "first_name" not in columns and "email" in columns
    assert dest.query("SELECT count(*) FROM {ds}.users WHERE email IS NULL") == [(1,)]
    # the same value hashes the same in both tables, so joins on hashed columns still work
    joined = dest.query("SELECT u.id FROM {ds}.users u JOIN {ds}.fact_permission_events p ON u.email = p.email")
    assert sorted(r[0] for r in joined) == ["u0", "u1", "u3"]
    raw = {"ada@example.com", "grace@example.com", "O'Brien@Example.com", "nobody@x.org", SALT}
    raw |= {f"First{i}" for i in range(5)}
    for table in dest.tables():
        text = repr(dest.query(f'SELECT * FROM "{{ds}}"."{table}"'))
        assert not any(value in text for value in raw), table


def test_hash_policy_without_salt_loads_nothing(share, tmp_path, monkeypatch):
    _people(share)
    monkeypatch.setenv(POLICY.format("USERS"), '{"EMAIL": "hash"}')
    dest = _duckdb(tmp_path)
    with pytest.raises(LearnsyncError, match="no salt is set"):
        run_sync(share, dest, profile="auto", tables=["USERS"])
    assert not dest.path.exists() or "users" not in dest.tables()


def test_tables_command_shows_column_policies(share, tmp_path):
    from tests.support.cli import in_process

    _people(share)
    env = {POLICY.format("USERS"): '{"EMAIL": "hash", "FIRST_NAME": "exclude"}'}
    args = ("tables", "--profile", "auto", "--tables", "USERS,FACT_PERMISSION_EVENTS", "--source-uri", share.uri)
    no_salt = in_process(*args, cwd=tmp_path, env=env)
    assert no_salt.returncode == 2 and no_salt.stderr.startswith("error: ") and "pii_salt" in no_salt.stderr
    proc = in_process(*args, cwd=tmp_path, env={**env, "SOURCES__LEARNSYNC__PII_SALT": SALT})
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert lines["USERS"].endswith("policy FIRST_NAME=exclude, EMAIL=hash")
    assert lines["FACT_PERMISSION_EVENTS"].endswith("policy -")


# -- no secret in any output ----------------------------------------------------------------------------------


def _prefect_records() -> str:
    """Everything the Prefect API holds about the runs: flow and task runs (parameters, states), logs, artifacts."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        records = [*client.read_flow_runs(), *client.read_task_runs(), *client.read_logs(), *client.read_artifacts()]
    assert any(getattr(r, "message", None) for r in records), "no Prefect logs were read back"
    return "\n".join(r.model_dump_json() for r in records)


def _destination_records(dest: Dest) -> str:
    """Every row of the dataset's tables (dlt's _dlt_* tables included), stored state decompressed."""
    from dlt.common.versioned_state import decompress_state

    out = []
    for table in sorted(dest.tables()):
        out += [repr(row) for row in dest.query(f'SELECT * FROM "{{ds}}"."{table}"')]
    # dlt keeps the pipeline state compressed: look inside
    out += [repr(decompress_state(v)) for (v,) in dest.query('SELECT state FROM "{ds}"._dlt_pipeline_state')]
    return "\n".join(out)


def test_no_secret_in_any_output(guarded, accounts, share, tmp_path, monkeypatch, capfd, prefect_server):
    """A sync, a failing sync, a CLI backfill and Prefect flows (one failing) with canary secrets; then every
    output, file, Prefect record and destination row is searched for them."""
    from prefect.settings import PREFECT_API_URL

    from learnsync.flows.sync import sync_flow
    from tests.support.warehouses import PG_URI, drop_pg_schema
    from tests.support.cli import learnsync

    canary = {k: f"canary-{k}-{uuid.uuid4().hex[:8]}" for k in ("password", "wrong", "phrase", "token", "pg", "salt")}
    accounts.password, accounts.pat = canary["password"], canary["token"]
    accounts.public_key, pem = _key(canary["phrase"])
    canary["key"] = pem.splitlines()[1]  # a line of the encrypted key itself
    keys = tmp_path.parent / f"{tmp_path.name}-keys"  # outside the scanned directory: the key file holds the key
    keys.mkdir()
    (keys / "rsa_key.p8").write_text(pem)
    _people(share)

    pg = urlsplit(PG_URI)
    dest = Dest("postgres", PG_URI, f"t_{uuid.uuid4().hex[:10]}", tmp_path)
    pg_with_password = pg._replace(netloc=f"{pg.username}:{canary['pg']}@{pg.hostname}:{pg.port or 5432}").geturl()
    base = _uri(guarded, share, None)
    env = {
        "LEARNSYNC_DEST_URI": pg_with_password, "LEARNSYNC_DATASET": dest.dataset, "LEARNSYNC_TABLES": "USERS",
        POLICY.format("USERS"): '{"EMAIL": "hash"}', "SOURCES__LEARNSYNC__PII_SALT": canary["salt"],
        # everything dlt and learnsync log, into stderr and into Prefect's logs
        "RUNTIME__LOG_LEVEL": "DEBUG", "PREFECT_LOGGING_EXTRA_LOGGERS": "dlt,learnsync",
        "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": "",
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
    }
    try:
        outputs = []
        ok = learnsync("sync", "-v", "--source-uri", base.replace("reader@", f"reader:{canary['password']}@"),
                       cwd=tmp_path, env=env)
        assert ok.returncode == 0, ok.stderr
        wrong = learnsync("sync", "--source-uri", base.replace("reader@", f"reader:{canary['wrong']}@"),
                          cwd=tmp_path, env=env)
        assert wrong.returncode == 2 and "error: Login to" in wrong.stderr, wrong.stderr
        outputs += [p.stdout + p.stderr for p in (ok, wrong)]

        for name, value in env.items():
            if not name.startswith("PREFECT_"):
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("LEARNSYNC_DEST_URI")
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", canary["pg"])
        monkeypatch.setenv(CREDS + "TOKEN", canary["token"])
        # the CLI runs its backfill itself (no Prefect server); its output is searched too
        backfill = learnsync(
            "backfill", "--table", "USERS", "--start", "2026-01-01", "--end", "2026-01-02",
            "--source-uri", _uri(guarded, share, "snowflake_jwt"), cwd=tmp_path, timeout=300,
            env={**env, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
                 CREDS + "PRIVATE_KEY_PATH": str(keys / "rsa_key.p8"), CREDS + "PRIVATE_KEY_PASSPHRASE": canary["phrase"]},
        )
        assert backfill.returncode == 0, backfill.stdout + backfill.stderr
        outputs.append(backfill.stdout + backfill.stderr)
        params = dict(tables=["USERS"], destination=PG_URI, dataset=dest.dataset)
        state = sync_flow(source_uri=_uri(guarded, share, "programmatic_access_token"), return_state=True, **params)
        assert state.is_completed(), state.message
        monkeypatch.setenv(CREDS + "TOKEN", canary["wrong"])
        failed = sync_flow(source_uri=_uri(guarded, share, "programmatic_access_token"), return_state=True, **params)
        assert failed.is_failed()
        outputs.append(_prefect_records())
        captured = capfd.readouterr()
        outputs += [captured.out, captured.err, _destination_records(dest)]
        logins = [(lg.authenticator, lg.ok) for lg in accounts.logins]
        assert {("SNOWFLAKE", True), ("SNOWFLAKE", False), ("SNOWFLAKE_JWT", True),
                ("PROGRAMMATIC_ACCESS_TOKEN", True), ("PROGRAMMATIC_ACCESS_TOKEN", False)} <= set(logins)

        text = "\n".join(outputs)
        for name, value in canary.items():
            assert value not in text, f"the {name} canary leaked"
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert any(p.name == "trace.pickle" for p in files) and any(p.name == "state.json" for p in files)
        for path in files:  # the dlt pipelines dir (state, traces, load packages) and Prefect's home
            data = path.read_bytes()
            for name, value in canary.items():
                assert value.encode() not in data, f"the {name} canary leaked into {path}"
    finally:
        drop_pg_schema(dest.dataset)


def test_no_usage_telemetry_leaves_the_machine(tmp_path):
    """dlt sends anonymous usage telemetry to telemetry.scalevector.ai by default (RUNTIME__DLTHUB_TELEMETRY):
    a learnsync command turns it off unless the user set it, and a worker's flow runs get it off too. Checked in
    a process with the variable unset, as a user's shell has it: dlt's anonymous tracker gets no endpoint."""
    import os
    import subprocess
    import sys

    import yaml

    code = ("import dlt; from learnsync.cli import _setup_logging; _setup_logging();"
            " dlt.pipeline('telemetry_check', destination='duckdb');"
            " from dlt.common.runtime import anon_tracker; print(anon_tracker._ANON_TRACKER_ENDPOINT)")
    env = {k: v for k, v in os.environ.items() if k != "RUNTIME__DLTHUB_TELEMETRY"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "None", out.stdout + out.stderr
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**env, "RUNTIME__DLTHUB_TELEMETRY": "true"})
    assert out.stdout.strip().startswith("https://"), "a user's own setting must win: " + out.stdout + out.stderr
    from pathlib import Path

    deploy = yaml.safe_load((Path(__file__).resolve().parents[1] / "deploy" / "prefect.yaml").read_text())
    env_vars = deploy["definitions"]["work_pool"]["job_variables"]["env"]
    assert env_vars["RUNTIME__DLTHUB_TELEMETRY"] == "false" and env_vars["DO_NOT_TRACK"] == "1"
