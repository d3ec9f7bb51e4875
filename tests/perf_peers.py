"""The benchmark's peers: ingestr, Sling and stock dlt, installed into a scratch venv of their own and run against
the emulator over HTTP (loopback only), one command each, for `python -m tests.perf --with-peers`.

Pinned so they install from the package registry and run offline:
- ingestr 0.14.155, the last release built on dlt; it pins dlt 1.21.0, snowflake-connector-python
  3.18.0 and snowflake-sqlalchemy 1.9.0, which stock dlt's `sql_table` uses too;
- Sling 1.4.11 from its binary wheel, pointed with DUCKDB_PATH at the DuckDB CLI of the duckdb-cli wheel (Sling
  would download its own CLI from the web otherwise), whose JSON and httpfs extensions come from the duckdb-ext-*
  wheels (found as ~/.duckdb/extensions under a HOME of Sling's own);
- a `sitecustomize.py` in the venv: when LEARNSYNC_PEERS_SNOWFLAKE holds JSON, `snowflake.connector.connect` gets
  those arguments (host 127.0.0.1, the emulator's port, protocol http) on top of its own. ingestr's source URI goes
  through snowflake-sqlalchemy, whose URL cannot carry host, port or protocol.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

INGESTR = "ingestr==0.14.155"
SLING = "sling-linux-amd64==1.4.11"
DUCKDB_CLI = "duckdb-cli==1.4.4.post2"  # the oldest CLI the registry has; Sling 1.4.11 was built against 1.3.1
# the CLI has neither JSON nor httpfs (Sling streams its CSV to read_csv over HTTP) built in and would download
# them: these wheels lay them out as an extension directory. Installed without their dependencies: they ask for
# duckdb (Python) 1.4.4, ingestr pins 1.4.3, and only their files are used
DUCKDB_EXTENSIONS = ("duckdb-ext-json==1.4.4.20260205", "duckdb-ext-httpfs==1.4.4.20260205")
PINS = (INGESTR, SLING, DUCKDB_CLI)
CONNECT_ENV = "LEARNSYNC_PEERS_SNOWFLAKE"
# no product telemetry from any peer: dlt's (ingestr and stock dlt), ingestr's own, Sling's
QUIET = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "INGESTR_DISABLE_TELEMETRY": "true",
    "SLING_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}



@dataclass(frozen=True)
class Table:
    """The share's table every tool loads: where it is, its key, its incremental cursor, its array column."""

    database: str
    schema: str
    name: str
    key: str
    cursor: str
    array_column: str


SITECUSTOMIZE = textwrap.dedent(
    f'''\
    """learnsync's benchmark: snowflake.connector.connect gets the JSON arguments of {CONNECT_ENV} (the emulator)."""
    import json as _json
    import os as _os

    _extra = _os.environ.get("{CONNECT_ENV}")
    if _extra:
        import snowflake.connector as _sc

        _connect = _sc.connect

        def _connect_to_emulator(*args, **kwargs):
            kwargs.update(_json.loads(_extra))
            return _connect(*args, **kwargs)

        _sc.connect = _connect_to_emulator
    '''
)


def venv_dir() -> Path:
    """Where the peers' venv lives (LEARNSYNC_PEERS_VENV, else ~/.cache/learnsync/peers); reused when present."""
    return Path(os.environ.get("LEARNSYNC_PEERS_VENV") or Path.home() / ".cache" / "learnsync" / "peers")


def ensure_venv(log: Callable[[str], None] = print) -> Path:
    """The peers' venv with PINS installed and the sitecustomize in place; builds it the first time (minutes)."""
    venv = venv_dir()
    marker = venv / "learnsync-peers.txt"
    wanted = "\n".join((*PINS, *DUCKDB_EXTENSIONS)) + "\n" + SITECUSTOMIZE
    if marker.exists() and marker.read_text() == wanted:
        return venv
    log(f"installing the peers into {venv} ({', '.join((*PINS, *DUCKDB_EXTENSIONS))}): a few minutes, once")
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *PINS], check=True, capture_output=True, text=True)
    subprocess.run([*pip, "--no-deps", *DUCKDB_EXTENSIONS], check=True, capture_output=True, text=True)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", where], check=True, capture_output=True,
                             text=True).stdout.strip()
    Path(purelib, "sitecustomize.py").write_text(SITECUSTOMIZE)
    marker.write_text(wanted)
    return venv


def _installed(venv: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The peers' executables, and the versions of what they run on, in the venv."""
    probe = textwrap.dedent(
        """
        import json, os, importlib.metadata as md
        import sling_linux_amd64
        sling = os.path.join(os.path.dirname(sling_linux_amd64.__file__), "bin", "sling-linux-amd64")
        duckdb = [f for f in md.files("duckdb-cli") if f.name == "duckdb" and "bin" in f.parts][0]
        extension = [f for f in md.files("duckdb-ext-json") if f.name == "json.duckdb_extension"][0]
        print(json.dumps({"sling": sling, "duckdb": os.path.realpath(duckdb.locate()),
                          "duckdb_extensions": str(extension.locate().parents[2])}))
        print(json.dumps({name: md.version(name) for name in ("ingestr", "dlt", "snowflake-connector-python",
                                                               "snowflake-sqlalchemy", "duckdb", "duckdb-cli",
                                                               "duckdb-ext-json", "duckdb-ext-httpfs")}))
        """
    )
    py = str(venv / "bin" / "python")
    paths, versions = subprocess.run([py, "-c", probe], check=True, capture_output=True, text=True).stdout.splitlines()
    return {"python": py, "ingestr": str(venv / "bin" / "ingestr"), **json.loads(paths)}, json.loads(versions)


LANDING = textwrap.dedent(
    """
    import json, sys, duckdb
    path, schema, table, column = sys.argv[1:5]
    con = duckdb.connect(path, read_only=True)
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE lower(table_schema) = lower(?)", [schema]).fetchall()]
    name = [t for t in tables if t.lower() == table.lower()][0]
    rows = con.execute(f'SELECT COUNT(*) FROM "{schema}"."{name}"').fetchone()[0]
    kind = con.execute("SELECT data_type FROM information_schema.columns WHERE lower(table_schema) = lower(?)"
                       " AND table_name = ? AND lower(column_name) = lower(?)", [schema, name, column]).fetchone()
    child = any(t.lower().startswith(f"{table}__{column}".lower()) for t in tables)
    print(json.dumps({"rows": rows, "type": kind[0] if kind else None, "child": child}))
    """
)


def arrays_text(landing: dict[str, Any]) -> str:
    """How the array column landed, in the issue's words."""
    if landing["child"]:
        return "child table"
    kind = landing["type"] or "missing"
    return {"VARCHAR": "JSON text", "JSON": "JSON column"}.get(kind, "list" if kind.endswith("[]") else kind)


STOCK_DLT = textwrap.dedent(
    """
    import json, sys, dlt, sqlalchemy
    from dlt.sources.sql_database import sql_table
    database, schema, table, cursor, key, dest, connect = sys.argv[1:8]
    # snowflake-sqlalchemy's URL cannot carry host, port or protocol: the connector gets them as connect_args
    engine = sqlalchemy.create_engine(f"snowflake://fake:snow@fakesnow/{database}/{schema}",
                                      connect_args=json.loads(connect))
    res = sql_table(credentials=engine, table=table, schema=schema, backend="pyarrow",
                    incremental=dlt.sources.incremental(cursor))
    res.apply_hints(write_disposition="merge", primary_key=key)
    pipeline = dlt.pipeline("stock_dlt_bench", destination=dlt.destinations.duckdb(dest), dataset_name="peers")
    print(pipeline.run(res))
    """
)


@dataclass
class Peer:
    """One peer: the command of its runs (the first loads all, the next only what is new) and its row."""

    row: Any
    command: list[str]
    env: dict[str, str]
    landing: tuple[str, str, str, str]  # DuckDB file, schema, table, array column
    venv: dict[str, str]
    measure: Callable[..., Any]

    def run(self, phase: str, report: Callable[[str, str], None]) -> None:
        """Run the peer (the measured process), then read back its rows and how its arrays landed."""
        r = self.measure(self.command, self.env)
        setattr(self.row, phase, r)
        out = subprocess.run([self.venv["python"], "-c", LANDING, *self.landing], check=True,
                             capture_output=True, text=True).stdout
        landing = json.loads(out)
        self.row.arrays = arrays_text(landing)
        report(f"{phase} -> {self.row.tool} (wall / CPU s)",
               f"{r.figures()}, peak RSS {r.peak_rss_mb:,.0f} MB, {landing['rows']:,} rows in the table")


@dataclass
class Peers:
    """The installed peers (or why they could not be), ready to make their rows for one emulator."""

    work: str
    venv: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    failed: str = ""

    def rows(self, server: Any, t: Table, row: Callable[[str], Any], measure: Callable[..., Any]) -> list[Peer]:
        """ingestr, Sling and stock dlt, each loading the table into a DuckDB file of its own.

        `row` makes a table row from a tool's name; `measure(command, env)` runs the command measured."""
        v, versions = self.venv, self.versions
        names = {
            "ingestr": f"ingestr {versions.get('ingestr', INGESTR.split('==')[1])} (dlt)",
            "sling": f"Sling {SLING.split('==')[1]}",
            "dlt": "stock dlt `sql_table` (pyarrow backend)",
        }
        if self.failed:
            peers = [Peer(row(name), [], {}, ("", "", "", ""), v, measure) for name in names.values()]
            for peer in peers:
                peer.row.failed = self.failed
            return peers
        connect = {"host": server.host, "port": server.port, "protocol": "http",
                   "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}, "network_timeout": 600}
        env = {**QUIET, **_loopback_only()}
        w = self.work
        sling_home = Path(w, "sling-home")
        (sling_home / ".duckdb").mkdir(parents=True, exist_ok=True)
        if not (sling_home / ".duckdb" / "extensions").exists():
            (sling_home / ".duckdb" / "extensions").symlink_to(v["duckdb_extensions"])
        ingestr = Peer(
            row(names["ingestr"]),
            [v["ingestr"], "ingest", "--source-uri", f"snowflake://fake:snow@fakesnow/{t.database}",
             "--source-table", f"{t.schema}.{t.name}", "--dest-uri", f"duckdb:///{w}/ingestr.duckdb",
             "--dest-table", f"peers.{t.name.lower()}", "--incremental-strategy", "merge",
             "--incremental-key", t.cursor.lower(), "--primary-key", t.key.lower(), "--yes"],
            {**env, CONNECT_ENV: json.dumps(connect), "DLT_DATA_DIR": f"{w}/ingestr-dlt"},
            (f"{w}/ingestr.duckdb", "peers", t.name.lower(), t.array_column), v, measure,
        )
        sling = Peer(
            row(names["sling"]),
            [v["sling"], "run", "--src-conn", "BENCH_SNOWFLAKE", "--src-stream", f"{t.schema}.{t.name}",
             "--tgt-conn", "BENCH_DUCKDB", "--tgt-object", f"peers.{t.name.lower()}", "--mode", "incremental",
             "--primary-key", t.key, "--update-key", t.cursor],
            {**env, "HOME": str(sling_home), "SLING_HOME_DIR": str(sling_home / ".sling"), "DUCKDB_PATH": v["duckdb"],
             # gosnowflake's DSN carries host:port and protocol=http; use_bulk=false reads with a plain SELECT
             # instead of unloading to a stage (COPY INTO @stage, which the emulator cannot do)
             "BENCH_SNOWFLAKE": f"snowflake://fake:snow@{server.host}:{server.port}/{t.database}"
                                f"?schema={t.schema}&protocol=http&account=fakesnow&use_bulk=false",
             "BENCH_DUCKDB": f"duckdb:///{w}/sling.duckdb"},
            (f"{w}/sling.duckdb", "peers", t.name.lower(), t.array_column), v, measure,
        )
        dlt = Peer(
            row(names["dlt"]),
            [v["python"], "-c", STOCK_DLT, t.database, t.schema.lower(), t.name.lower(), t.cursor.lower(), t.key.lower(),
             f"{w}/stock-dlt.duckdb", json.dumps(connect)],
            {**env, "DLT_DATA_DIR": f"{w}/stock-dlt"},
            (f"{w}/stock-dlt.duckdb", "peers", t.name.lower(), t.array_column), v, measure,
        )
        return [ingestr, sling, dlt]

    def notes(self, t: Table) -> str:
        """How the peers ran, printed under the table."""
        if self.failed:
            return f"Peers: not installed ({self.failed})."
        v = self.versions
        return textwrap.fill(
            f"Peers, from the venv {venv_dir()}: ingestr {v['ingestr']} (dlt {v['dlt']}, snowflake-connector-python"
            f" {v['snowflake-connector-python']}, snowflake-sqlalchemy {v['snowflake-sqlalchemy']}); Sling"
            f" {SLING.split('==')[1]} reading with use_bulk=false (a SELECT, no unload to a stage) and writing"
            f" through the DuckDB CLI {v['duckdb-cli']} (DUCKDB_PATH; its json and httpfs extensions from the"
            f" duckdb-ext-* {v['duckdb-ext-json']} wheels); stock"
            f" dlt {v['dlt']} sql_table(backend='pyarrow'). Each loads into a DuckDB file of its own, merging on"
            f" {t.key} with {t.cursor} as its incremental cursor; its first run is the full load. ingestr reaches"
            f" the emulator through a sitecustomize.py in that venv that adds host=127.0.0.1, the port and"
            f" protocol=http to snowflake.connector.connect (from {CONNECT_ENV}): its snowflake:// URI cannot"
            " carry them. Stock dlt passes them as connect_args; Sling's URL carries them. Any other host goes to"
            " a dead proxy on the loopback.",
            width=116,
        )


def _loopback_only() -> dict[str, str]:
    """Any request to a host other than 127.0.0.1 goes to a dead proxy on the loopback and fails at once."""
    dead = "http://127.0.0.1:9"
    return {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "NO_GCE_CHECK": "true", "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_IP": "127.0.0.1:9"}


def prepare(work: str, log: Callable[[str], None]) -> Peers:
    """The peers' venv, built when missing; install trouble becomes every peer's `failed:` line."""
    try:
        venv = ensure_venv(log)
        paths, versions = _installed(venv)
    except subprocess.CalledProcessError as exc:
        tail = [ln for ln in (exc.stderr or "").splitlines() if ln.strip() and "is ignored" not in ln]
        return Peers(work, failed=f"install: {(tail or [str(exc)])[-1][:200]}")
    except (OSError, IndexError, ValueError) as exc:
        return Peers(work, failed=f"install: {type(exc).__name__}: {exc}"[:200])
    log(f"venv {venv}: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    return Peers(work, paths, versions)


if __name__ == "__main__":
    print(ensure_venv())
