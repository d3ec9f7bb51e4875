"""The emulator's server: fakesnow in server mode (with learnsync's fixes to it), in this process or its own,
behind the realistic wire (`learnsync.emulator.wire`) unless told `wire="plain"`.

    python -m learnsync.emulator serve --port 8765    # serve until killed (used by serve_in_subprocess)
    python -m learnsync.emulator serve --wire plain --chunk-rows 500
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from learnsync.emulator.account import AccountSettings
from learnsync.emulator.wire import RealisticWire, WireConfig, WireSpec, make_wire

HOST = "127.0.0.1"
# the wire emulated_share and serve_in_subprocess use when not told: realistic (a real account's answers) or plain
WIRE_ENV = "LEARNSYNC_EMULATOR_WIRE"


# --------------------------------------------------------------------------------------------------------------
# fakesnow fixes


def _timestamp_to_sf_struct_keeping_nulls(ts: Any) -> Any:
    """fakesnow.arrow.timestamp_to_sf_struct with a validity mask, so NULL timestamps stay NULL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(ts, pa.ChunkedArray):
        # combine because pa.StructArray.from_arrays doesn't support ChunkedArray
        ts = ts.combine_chunks()
    if not isinstance(ts.type, pa.TimestampType):
        raise ValueError(f"Expected TimestampArray, got {type(ts)}")

    # same arithmetic as fakesnow 0.12.1 (which stores microseconds): whole seconds plus nanoseconds
    tsa_without_us = pc.floor_temporal(ts, unit="second")
    epoch = pc.divide(tsa_without_us.cast(pa.int64()), 1_000_000)
    fraction = pc.round(pc.multiply(pc.subsecond(ts), 1_000_000_000)).cast(pa.int32())
    # the children are declared non-nullable, so give the slots under a NULL struct a value
    arrays = [pc.fill_null(epoch, 0), pc.fill_null(fraction, 0)]
    fields = [pa.field("epoch", pa.int64(), nullable=False), pa.field("fraction", pa.int32(), nullable=False)]
    if ts.type.tz:
        assert ts.type.tz == "UTC", f"Timezone {ts.type.tz} not yet supported"
        arrays.append(pa.array([1440] * len(ts), type=pa.int32()))
        fields.append(pa.field("timezone", pa.int32(), nullable=False))
    # the fix: without mask= every NULL became epoch 0, ie: the connector read 1970-01-01 00:00:00
    return pa.StructArray.from_arrays(arrays, fields=fields, mask=ts.is_null())


setattr(_timestamp_to_sf_struct_keeping_nulls, "_learnsync_patch", True)


def patch_fakesnow() -> None:
    """Make the emulator return NULL timestamps as NULL (idempotent).

    fakesnow 0.12.1 bug: in server mode results go to the connector as Arrow, where Snowflake encodes a
    timestamp as a struct {epoch, fraction}. `fakesnow.arrow.timestamp_to_sf_struct` builds that struct with
    `pa.StructArray.from_arrays` but no validity mask, so a NULL timestamp turns into a valid struct of zeros
    and the connector reads 1970-01-01. We replace the module attribute because `fakesnow.arrow.to_sf` (which
    the server calls) looks the function up by its global name at call time.
    """
    import fakesnow.arrow

    if getattr(fakesnow.arrow.timestamp_to_sf_struct, "_learnsync_patch", False):
        return
    fakesnow.arrow.timestamp_to_sf_struct = _timestamp_to_sf_struct_keeping_nulls


# --------------------------------------------------------------------------------------------------------------
# servers


def _connect_kwargs(host: str, port: int, network_timeout: int = 60) -> dict[str, Any]:
    """The connector arguments fakesnow.server yields, with a network timeout that suits big queries."""
    return dict(
        user="fake",
        password="snow",
        account="fakesnow",
        host=host,
        port=port,
        protocol="http",
        # no telemetry to the real Snowflake; and the parameters the tests' own SQL relies on, pinned as any
        # client must on an account that changed them (`AccountSettings.strict()`, the tests' account)
        session_parameters={"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False, **TEST_SESSION_PARAMETERS},
        # fakesnow yields 1 s, which fails any query that takes longer; note the connector retries HTTP 500s
        # (the emulator's answer to SQL it can't translate) until this runs out
        network_timeout=network_timeout,
    )


TEST_SESSION_PARAMETERS = {
    "QUOTED_IDENTIFIERS_IGNORE_CASE": False, "TIMESTAMP_INPUT_FORMAT": "AUTO", "DATE_INPUT_FORMAT": "AUTO",
    "TIME_INPUT_FORMAT": "AUTO",
}
"""What the emulator's own connections (`EmulatorServer.connect`: tests filling a share) pin."""


@dataclass
class EmulatorServer:
    """A running emulator: where it listens and how to reach it."""

    host: str
    port: int
    connect_kwargs: dict[str, Any] = field(default_factory=dict, repr=False)
    pid: int | None = None  # the emulator's own process (serve_in_subprocess), so a test can stop or kill it
    # the realistic wire in front of fakesnow (emulated_share), to declare types and read its `queries`; None
    # for the plain wire, and for serve_in_subprocess (the wire lives in the other process)
    wire: RealisticWire | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.connect_kwargs:
            self.connect_kwargs = _connect_kwargs(self.host, self.port)

    def uri(self, database: str, schema: str) -> str:
        """The learnsync source URI of DATABASE.SCHEMA in this emulator."""
        return (
            f"snowflake://fake:snow@fakesnow/{database}/{schema}"
            f"?host={self.host}&port={self.port}&protocol=http"
        )

    def connect(self, database: str | None = None, schema: str | None = None, **overrides: Any) -> Any:
        """A real snowflake.connector connection to the emulator (its in-memory data is shared by all), with
        TEST_SESSION_PARAMETERS pinned (and any `session_parameters` given)."""
        import snowflake.connector

        kwargs = dict(self.connect_kwargs)
        if database is not None:
            kwargs["database"] = database
        if schema is not None:
            kwargs["schema"] = schema
        # a caller's session parameters add to the pinned ones
        overrides["session_parameters"] = {**kwargs["session_parameters"], **overrides.get("session_parameters", {})}
        kwargs.update(overrides)
        return snowflake.connector.connect(**kwargs)


@contextlib.contextmanager
def emulated_share(
    port: int | None = None, wrap: Callable[[Any], Any] | None = None, wire: WireSpec = None
) -> Iterator[EmulatorServer]:
    """Run the emulator in a thread of this process, on 127.0.0.1 only.

    fakesnow keeps one in-memory database per process, so data stays visible to every connection and even to
    a later emulated_share() in the same process. `wrap` puts an ASGI middleware in front of fakesnow's app
    (tests check logins with it: fakesnow accepts any credentials). `wire` ("realistic", the default, "plain",
    a WireConfig or a RealisticWire) chooses how answers look; the realistic wire sits between `wrap` and
    fakesnow, and the server's `wire` attribute is it. Without `wire`, LEARNSYNC_EMULATOR_WIRE (realistic or
    plain) chooses.
    """
    layer = make_wire(_default_wire() if wire is None else wire)
    with _serve(port, _stack(layer, wrap)) as bound:
        kwargs = _connect_kwargs(HOST, bound)
        yield EmulatorServer(HOST, bound, kwargs, wire=layer)


def _default_wire() -> str:
    # read at call time: a test run sets it in the environment, nothing sets it at import
    return os.environ.get(WIRE_ENV, "realistic")


def _stack(wire: RealisticWire | None, wrap: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """One wrapper: the wire next to fakesnow, `wrap` outside it (so it sees requests as clients send them)."""
    if wire is None:
        return wrap
    if wrap is None:
        return wire
    return lambda app: wrap(wire(app))


@contextlib.contextmanager
def _serve(port: int | None, wrap: Callable[[Any], Any] | None = None) -> Iterator[int]:
    """Start fakesnow's ASGI app under uvicorn in a daemon thread; yields the bound port.

    Not `fakesnow.server()`: it logs every query at info level, and it works once per process only, since
    its own `import fakesnow.server` replaces the function with the submodule of the same name.
    """
    import logging

    import uvicorn
    from fakesnow.server import app

    patch_fakesnow()
    # fakesnow.server's import set its logger to info: one line per login
    logging.getLogger("fakesnow.server").setLevel(logging.WARNING)
    # sqlglot warns on every statement whose Snowflake argument DuckDB has no place for (the format of
    # TO_VARCHAR(x, format), which fingerprints name for each type: DuckDB renders the full value either way);
    # through the demo's live display that was one line per table read
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    port = port or _free_port()
    server = uvicorn.Server(uvicorn.Config(wrap(app) if wrap else app, host=HOST, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="fakesnow server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"The emulator could not start on {HOST}:{port}.")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join()


def _free_port(host: str = HOST) -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serve_in_subprocess(
    port: int | None = None,
    startup_timeout: float = 30.0,
    wire: WireConfig | Literal["plain", "realistic"] | None = None,
) -> Iterator[EmulatorServer]:
    """Run the emulator in its own OS process, so a benchmark doesn't measure the emulator's CPU time too.

    `wire` is "plain", "realistic" or a WireConfig (default: LEARNSYNC_EMULATOR_WIRE, else realistic), passed as
    `serve` options; a RealisticWire instance cannot be (its declarations and records would live in the other
    process).
    """
    if isinstance(wire, RealisticWire):
        raise ValueError("serve_in_subprocess takes a WireConfig: a RealisticWire's state cannot cross processes")
    spec = _default_wire() if wire is None else wire
    wire_args = _wire_args(WireConfig() if spec == "realistic" else spec)
    port = port or _free_port()
    if _accepts(HOST, port):
        raise RuntimeError(f"Port {port} on {HOST} is already in use; pick another for the emulator.")
    # a file rather than a pipe: nobody reads a pipe while serving, and a full pipe would block the server
    with tempfile.TemporaryFile(prefix="learnsync-emulator-", suffix=".log") as log:
        proc = subprocess.Popen(
            # the installed package, whatever the caller's working directory
            [sys.executable, "-m", "learnsync.emulator", "serve", "--port", str(port), *wire_args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not _accepts(HOST, port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-2000:].decode("utf-8", "replace")
                    state = f"exited with code {proc.returncode}" if proc.poll() is not None else "did not listen"
                    raise RuntimeError(
                        f"The emulator on {HOST}:{port} {state} within {startup_timeout:.0f} s. Its output:\n{tail}"
                    )
                time.sleep(0.1)
            yield EmulatorServer(HOST, port, pid=proc.pid)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _serve_forever(port: int | None, wire: RealisticWire | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with _serve(port, wire) as bound:
        print(f"emulator listening on {HOST}:{bound} ({'realistic' if wire else 'plain'} wire)", flush=True)
        stop.wait()


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _wire_args(config: WireConfig | str | None) -> list[str]:
    """`serve` options that rebuild this wire config in another process (only the fields that differ)."""
    if config is None or config == "plain":
        return []
    if not isinstance(config, WireConfig):
        raise ValueError(f"wire must be 'plain', 'realistic' or a WireConfig, not {config!r}")
    args = ["--wire", "realistic"]
    if config.account.name == "custom":
        raise ValueError("serve_in_subprocess takes a new or strict account (AccountSettings() or .strict())")
    if config.account != AccountSettings():
        args += ["--account", config.account.name]
    for f in dataclasses.fields(WireConfig):
        if f.name == "account":
            continue
        value = getattr(config, f.name)
        if value == f.default:
            continue
        if isinstance(value, bool):
            args.append(_option(f.name) if value else "--no-" + f.name.replace("_", "-"))
        else:
            args += [_option(f.name), str(value)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m learnsync.emulator serve [--port P] [--wire plain|realistic] [--chunk-rows N] ...`.

    Every WireConfig field is an option of `serve` (`--first-chunk-rows 0`, `--account-timezone UTC`,
    `--no-gzip-chunks`...); they take effect with `--wire realistic`.
    """
    parser = argparse.ArgumentParser(
        prog="python -m learnsync.emulator",
        description="Serve the emulated learning data share (fakesnow) on 127.0.0.1 until killed.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the emulator on 127.0.0.1 until killed")
    serve.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    serve.add_argument(
        "--wire", choices=("plain", "realistic"), default="realistic",
        help="realistic: a real Snowflake account's wire form (default); plain: fakesnow's own answers",
    )
    serve.add_argument("--account", choices=("new", "strict"), default="new",
                       help="new: a new account's parameters; strict: AccountSettings.strict()")
    for f in dataclasses.fields(WireConfig):
        if f.name == "account":
            continue
        if isinstance(f.default, bool):
            serve.add_argument(_option(f.name), action=argparse.BooleanOptionalAction, default=f.default)
        else:
            # the default's type; first_chunk_rows, the one default None, is a row count
            kind = int if f.default is None else type(f.default)
            serve.add_argument(_option(f.name), type=kind, default=f.default, help=f"WireConfig.{f.name}")
    args = parser.parse_args(argv)
    if args.command == "serve":
        wire = None
        if args.wire == "realistic":
            settings = AccountSettings.strict() if args.account == "strict" else AccountSettings()
            config = WireConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(WireConfig)
                                   if f.name != "account"}, account=settings)
            wire = RealisticWire(config)
        _serve_forever(args.port, wire)
    return 0

