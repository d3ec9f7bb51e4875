"""Settings: every dlt configspec learnsync reads (the share's credentials, per-table settings, the salt), the
run-time settings of the flows, and the defaults defined once.

Secrets come from dlt's providers (`.dlt/secrets.toml`, the environment) through configspecs that declare them
secret, so dlt never writes their values into its run traces. Everything is read when it is needed, never at
import time.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional
from urllib.parse import parse_qs, quote, unquote, urlsplit

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration, ConnectionStringCredentials
from dlt.common.typing import TSecretStrValue
from pydantic_settings import BaseSettings, SettingsConfigDict

from learnsync.errors import LearnsyncError

DATASET_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
"""A destination dataset (schema) name every destination takes unquoted: letters, digits, underscores, <= 63."""


def dataset_name(name: str) -> str:
    """`name` when it is a valid dataset name (DATASET_NAME), else a LearnsyncError saying what is accepted."""
    if not re.fullmatch(DATASET_NAME, name or ""):
        raise LearnsyncError(
            f"Invalid dataset name {name!r}: use letters, digits and underscores, starting with a letter."
        )
    return name


SOURCE_SECTIONS = ("sources", "learnsync")
SOURCE_CREDENTIALS = (*SOURCE_SECTIONS, "credentials")
TABLE_SECTIONS = (*SOURCE_SECTIONS, "tables")
URI_FORM = "snowflake://USER@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE"
SECRETS_WHERE = "[sources.learnsync.credentials] in .dlt/secrets.toml (env SOURCES__LEARNSYNC__CREDENTIALS__<NAME>)"
TIMEOUTS = {"login_timeout": 30, "network_timeout": 120, "socket_timeout": 60, "statement_timeout": 3600,
            "chunk_timeout": 300}
"""Seconds: to log in; for one request with the connector's retries (the connector's default is forever); for one
socket read. Snowflake answers a long query with "still running" within ~45 s, so a read never legitimately
waits longer than a minute, and a source that stops answering fails a run in about two minutes at most.
`statement_timeout`: Snowflake cancels a statement running longer (STATEMENT_TIMEOUT_IN_SECONDS, pinned at login;
Snowflake's default is two days). `chunk_timeout`: to download one result chunk (a few MB); the connector bounds
each socket read only, so a chunk that trickles in one byte every few seconds would hold a run for hours."""
SESSION_PARAMETERS = {
    # TIMESTAMP_NTZ is UTC wall-clock time, and LTZ/TZ batches are labelled with the session's zone: keep it UTC
    "TIMEZONE": "UTC",
    # an account or user may default to JSON results, and then fetch_arrow_batches() raises NotSupportedError
    "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": "ARROW",
    # GEOGRAPHY/GEOMETRY as GeoJSON text (an account may default to WKB binary)
    "GEOGRAPHY_OUTPUT_FORMAT": "GeoJSON",
    "GEOMETRY_OUTPUT_FORMAT": "GeoJSON",
    # cursor bounds and dates are bound as ISO text ('2026-01-01 12:00:00.000000'): with a non-AUTO input
    # format an account sets, Snowflake refuses them ("is not recognized")
    "TIMESTAMP_INPUT_FORMAT": "AUTO",
    "DATE_INPUT_FORMAT": "AUTO",
    "TIME_INPUT_FORMAT": "AUTO",
    # names of an `auto` share are quoted as INFORMATION_SCHEMA spells them: with TRUE, "createdAt" would
    # resolve as CREATEDAT, which does not exist
    "QUOTED_IDENTIFIERS_IGNORE_CASE": False,
    "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False,
}
"""Pinned for every learnsync session, whatever the account's defaults (`snowflake-result-wire-format.md`, and
docs/configuration.md "Snowflake account settings"). Output formats are not pinned: pinning one would change
every fingerprint already stored (`catalog.fingerprint`)."""


MASK_ANYWHERE = 8
"""A secret at least this long is masked wherever it appears in a message."""


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret (as given, and URL-encoded as a URI holds it) replaced by `***`. A secret shorter
    than MASK_ANYWHERE characters (a test password such as "p") is masked where it stands alone, not inside a
    longer word or number: masked there, it would turn the connector's "attempt(s)" into "attem***t(s)" and point
    at the secret's letters instead of hiding them. Longest first, so no part of a longer secret is left."""
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= MASK_ANYWHERE:
            text = text.replace(form, "***")
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
    return text


class Authenticator(str, Enum):
    """How learnsync logs in to Snowflake: the connector's authenticator names, chosen with `?authenticator=`."""

    PASSWORD = "snowflake"
    KEY_PAIR = "snowflake_jwt"
    PAT = "programmatic_access_token"
    OAUTH = "oauth"


_QUERY_KEYS = {"warehouse", "role", "host", "port", "protocol", "authenticator", *TIMEOUTS}


@configspec(init=False)
class ShareCredentials(ConnectionStringCredentials):
    """The share and how to log in: `snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE`
    (optional `host`, `port`, `protocol` for private links, proxies and the emulator; `authenticator`; the
    timeouts in seconds), with the secrets the URI leaves out read from `[sources.learnsync.credentials]`.

    The fields of dlt's SnowflakeCredentials (the account as `host`, `username`, `password`, `warehouse`, `role`,
    `authenticator`, `token`, `private_key`, `private_key_path`, `private_key_passphrase`), with the schema, the
    endpoint and the timeouts added; its private-key loading (`decode_private_key`). Not a subclass of it:
    dlt 1.31 runs every `on_resolved` of the class chain, and SnowflakeCredentials' raises on a missing password
    (before learnsync can say which secret to set) and reads `private_key_path` into `private_key` (so a key given
    twice can no longer be told). `repr` and dlt's traces never show a secret."""

    drivername: str = dataclasses.field(default="snowflake", init=False, repr=False, compare=False)
    database: Optional[str] = None
    schema: Optional[str] = None
    host: Optional[str] = None
    """The account identifier, e.g. `kgiotue-wn98412`."""
    username: Optional[str] = None
    warehouse: Optional[str] = None
    role: Optional[str] = None
    authenticator: Optional[str] = None
    token: Optional[TSecretStrValue] = None  # a programmatic access token or an OAuth access token
    private_key: Optional[TSecretStrValue] = None  # PEM text (or base64 DER)
    private_key_path: Optional[str] = None  # a PEM file; a path is not a secret
    private_key_passphrase: Optional[TSecretStrValue] = None
    endpoint: Optional[str] = None  # `?host=`: the Snowflake endpoint when it is not <account>.snowflakecomputing.com
    protocol: Optional[str] = None
    login_timeout: int = TIMEOUTS["login_timeout"]
    network_timeout: int = TIMEOUTS["network_timeout"]
    socket_timeout: int = TIMEOUTS["socket_timeout"]
    statement_timeout: int = TIMEOUTS["statement_timeout"]
    chunk_timeout: int = TIMEOUTS["chunk_timeout"]

    def parse_native_representation(self, native_value: Any) -> None:
        """Parse the source URI; a malformed one is a LearnsyncError that shows the expected form."""
        if not isinstance(native_value, str) or not native_value:
            raise LearnsyncError(f"No source given: pass --source-uri {URI_FORM} (or set LEARNSYNC_SOURCE_URI).")
        parts = urlsplit(native_value)
        if parts.scheme != "snowflake":
            raise LearnsyncError(f"The source URI must start with snowflake://, like {URI_FORM}.")
        path = [unquote(p) for p in parts.path.split("/") if p]
        try:
            host, port = parts.hostname, parse_qs(parts.query).get("port", [None])[-1]
            user, password = unquote(parts.username or ""), parts.password
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if port is not None:
                int(port)
            timeouts = {k: int(query[k]) for k in TIMEOUTS if query.get(k)}
        except ValueError:
            raise LearnsyncError(f"The source URI is malformed; expected {URI_FORM}.") from None
        if not host or not user or len(path) != 2:
            raise LearnsyncError(f"The source URI needs a user, an account, a database and a schema: {URI_FORM}.")
        unknown = sorted(set(query) - _QUERY_KEYS)
        if unknown:
            raise LearnsyncError(
                f"Unknown source URI option(s) {', '.join(unknown)}; known: {', '.join(sorted(_QUERY_KEYS))}."
            )
        # account names are case-insensitive; the URI parser lowercases the host anyway
        self.host, self.username, self.database, self.schema = host, user, path[0], path[1]
        if password is not None:
            self.password = unquote(password)
        for key in ("warehouse", "role", "protocol"):
            if query.get(key):
                setattr(self, key, query[key])
        if query.get("host"):
            self.endpoint = query["host"]
        if port is not None:
            self.port = int(port)
        if query.get("authenticator"):
            self.authenticator = query["authenticator"]
        for key, value in timeouts.items():
            setattr(self, key, value)

    @property
    def method(self) -> Authenticator:
        """The login method: `?authenticator=`, else key pair when a private key is configured, else password.
        An unknown name is a LearnsyncError."""
        if not self.authenticator:
            return Authenticator.KEY_PAIR if (self.private_key or self.private_key_path) else Authenticator.PASSWORD
        try:
            return Authenticator(self.authenticator.lower())
        except ValueError:
            raise LearnsyncError(
                f"Unknown authenticator {self.authenticator!r} in the source URI; use one of"
                f" {', '.join(a.value for a in Authenticator)}."
            ) from None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value these credentials hold, for scrubbing messages."""
        return tuple(str(s) for s in (self.password, self.token, self.private_key, self.private_key_passphrase) if s)

    def mask(self, text: str) -> str:
        """`text` with every secret of these credentials masked (`mask_secrets`)."""
        return mask_secrets(text, self.secrets)

    def share(self) -> tuple[str, str]:
        """The share's database and schema (a parsed source URI always names both)."""
        if not self.database or not self.schema:
            raise LearnsyncError(f"The source URI needs a user, an account, a database and a schema: {URI_FORM}.")
        return self.database, self.schema

    def redacted(self) -> str:
        """The URI without secrets, for messages and logs."""
        return f"snowflake://{self.username}:***@{self.host}/{self.database}/{self.schema}"

    def missing(self) -> Optional[str]:
        """What the login method lacks, as the one line that says which secret to set; None when nothing."""
        method = self.method
        if self.private_key and self.private_key_path:
            return "Give the Snowflake private key once: private_key or private_key_path, not both."
        given = {Authenticator.PASSWORD: self.password,
                 Authenticator.KEY_PAIR: self.private_key or self.private_key_path}.get(method, self.token)
        if given:
            return None
        what, how = {
            Authenticator.PASSWORD: ("password", 'put it in the source URI or in {where} as password = "..."'),
            Authenticator.KEY_PAIR: ("private key", "set private_key (PEM text) or private_key_path in {where}"),
            Authenticator.PAT: ("programmatic access token", 'set token = "..." in {where}'),
            Authenticator.OAUTH: ("OAuth access token", 'set token = "..." in {where}'),
        }[method]
        return f"No Snowflake {what}: {how.format(where=SECRETS_WHERE)}."

    def to_connector_params(self) -> Dict[str, Any]:
        """`snowflake.connector.connect()` arguments: the login of `method` only, the schema, bounded timeouts
        (the connector's defaults are 120 s to log in and retrying a request forever), the pinned
        SESSION_PARAMETERS, server-side binding (`paramstyle` numeric), and decimals for scaled numbers
        (`arrow_number_to_decimal`: the connector's default hands NUMBER(p,s) over as float64). A private key that cannot be loaded is a LearnsyncError."""
        method = self.method
        kwargs: Dict[str, Any] = {
            "account": self.host, "user": self.username, "database": self.database, "schema": self.schema,
            "login_timeout": self.login_timeout, "network_timeout": self.network_timeout,
            "socket_timeout": self.socket_timeout,
            "session_parameters": {**SESSION_PARAMETERS, "STATEMENT_TIMEOUT_IN_SECONDS": self.statement_timeout},
            "client_session_keep_alive": False,
            "arrow_number_to_decimal": True,
            # values travel as bindings beside the statement, never inside its text (`sql.server_bound`)
            "paramstyle": "numeric",
            "authenticator": method.value.upper(),
        }
        if method is Authenticator.PASSWORD:
            kwargs["password"] = self.password
        elif method is Authenticator.KEY_PAIR:
            kwargs["private_key"] = self._private_key()
        else:
            kwargs["token"] = self.token
        for key in ("warehouse", "role", "protocol"):
            if getattr(self, key):
                kwargs[key] = getattr(self, key)
        if self.endpoint:
            kwargs["host"] = self.endpoint
        if self.port:
            kwargs["port"] = self.port
        return kwargs

    def _private_key(self) -> bytes:
        """The key as DER bytes, through dlt's `decode_private_key` (PEM, encrypted PEM or base64 DER); what
        goes wrong is our one-line message, never the key."""
        from dlt.common.libs.cryptography import decode_private_key

        origin = f"private_key_path {self.private_key_path}" if self.private_key_path else "private_key secret"
        if self.private_key_path:
            try:
                pem = Path(self.private_key_path).expanduser().read_text("ascii")
            except (OSError, UnicodeDecodeError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else "not a text (PEM) file"
                raise LearnsyncError(f"Cannot read the Snowflake private key file {self.private_key_path}: {why}.") from None
        else:
            pem = str(self.private_key or "")
        passphrase = str(self.private_key_passphrase) if self.private_key_passphrase else None
        try:
            return decode_private_key(pem, passphrase)
        except Exception as exc:  # noqa: BLE001 - dlt wraps cryptography's ValueError/TypeError in a ValueError
            text = str(exc)
            if "Password was not given but private key is encrypted" in text:
                need = "is encrypted: set private_key_passphrase"
            elif "Password was given but private key is not encrypted" in text:
                need = "is not encrypted: remove private_key_passphrase"
            elif passphrase is not None and "ENCRYPTED" in pem:
                need = "could not be decrypted: check private_key_passphrase"
            else:
                raise LearnsyncError(
                    f"The Snowflake private key ({origin}) is not a PEM private key"
                    " (expected -----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)."
                ) from None
            raise LearnsyncError(f"The Snowflake private key ({origin}) {need} in {SECRETS_WHERE}.") from None


def share_credentials(uri: Optional[str], password: Optional[str] = None) -> ShareCredentials:
    """The credentials of a source URI, completed from dlt's providers (`[sources.learnsync.credentials]`);
    a password in the URI wins, then `password` (e.g. from a Prefect block), then the providers'. Raises LearnsyncError for a missing or malformed URI."""
    if not uri:
        raise LearnsyncError(f"No source given: pass --source-uri {URI_FORM} (or set LEARNSYNC_SOURCE_URI).")
    try:
        creds = resolve_configuration(ShareCredentials(), sections=SOURCE_CREDENTIALS, explicit_value=uri)
    except ConfigurationException as exc:
        raise LearnsyncError(f"Invalid Snowflake credentials in config: {exc}") from None
    if password is not None and urlsplit(uri).password is None:
        creds.password = password
    return creds


@configspec
class TableSettings(BaseConfiguration):
    """Per-table settings: `[sources.learnsync.tables.<TABLE>]` in config.toml or
    `SOURCES__LEARNSYNC__TABLES__<TABLE>__<SETTING>` in the environment (names match the share's columns
    case-insensitively; the catalog checks every value: `catalog.resolve_table`)."""

    cursor: Optional[str] = None
    """The column a run resumes from (a TIMESTAMP, DATE or integer column), instead of the profile's."""
    primary_key: Optional[List[str]] = None
    """The key columns a merge upserts on, instead of the profile's."""
    strategy: Optional[str] = None
    """merge | events | replace."""
    lookback_hours: Optional[float] = None
    """Hours re-read behind the stored cursor on every run (24 by default; event tables: 3 days)."""
    column_policy: Optional[Dict[str, str]] = None
    """{COLUMN = "exclude" | "hash"}."""
    exclude_columns: Optional[List[str]] = None
    """Replaced by column_policy; read only to say so."""
    soft_delete: bool = False
    """Reconcile marks rows deleted from the share (`_learnsync_deleted_at`) instead of removing them."""
    decimal_columns: Optional[List[str]] = None
    """NUMBER(p,0) columns loaded as decimal(p,0): for values beyond 64 bits."""
    max_lag_hours: Optional[float] = None
    """Hours the newest stored cursor may lag behind now before `learnsync status` calls the table stale."""
    history: bool = False
    """Keep every version of a row (`valid_from`, `valid_to`; dlt's `scd2` merge): keyed merge tables only."""


def table_settings(table: str) -> TableSettings:
    """The configured settings of one table (all None when nothing is configured). Raises LearnsyncError for a
    value of the wrong type."""
    try:
        return resolve_configuration(TableSettings(), sections=(*TABLE_SECTIONS, table))
    except ConfigurationException as exc:
        raise LearnsyncError(f"Invalid settings for table {table} in config: {exc}") from None


@configspec
class _Password(BaseConfiguration):
    password: Optional[TSecretStrValue] = None


@configspec
class _Salt(BaseConfiguration):
    pii_salt: Optional[TSecretStrValue] = None


def read_password(*sections: str) -> Optional[str]:
    """`password` under `sections`, e.g. ("destination", "postgres", "credentials") reads
    DESTINATION__POSTGRES__CREDENTIALS__PASSWORD or [destination.postgres.credentials] password."""
    value = resolve_configuration(_Password(), sections=sections).password
    return str(value) if value is not None else None


def read_pii_salt() -> Optional[str]:
    """The salt of hashed columns: [sources.learnsync] pii_salt or SOURCES__LEARNSYNC__PII_SALT."""
    value = resolve_configuration(_Salt(), sections=SOURCE_SECTIONS).pii_salt
    return str(value) if value else None


class FlowSettings(BaseSettings):
    """How the Prefect flows run, from `LEARNSYNC_<NAME>` environment variables, read when a flow or `serve`
    starts (never at import): parallel tables, a Dask cluster, task retries."""

    model_config = SettingsConfigDict(env_prefix="LEARNSYNC_", extra="ignore")

    max_parallel: int = 4
    """Tables loading at once on threads (a DuckDB destination takes one at a time whatever this says)."""
    dask_address: Optional[str] = None
    """A running Dask scheduler to run table tasks on."""
    dask_workers: Optional[int] = None
    """A local Dask cluster of this many worker processes (when no address is given)."""
    retries: int = 3
    """Retries of a table task whose failure may pass (network, warehouse, a dropped session)."""
    retry_backoff: float = 10.0
    """Seconds before the first retry; each next one waits twice as long (0: at once, for tests)."""


class HistorySettings(BaseSettings):
    """How long the run history keeps its rows, from `LEARNSYNC_RUN_HISTORY_DAYS`, read when a run records."""

    model_config = SettingsConfigDict(env_prefix="LEARNSYNC_", extra="ignore")

    run_history_days: float = 90
    """Rows of `_learnsync_runs` older than this many days are deleted by the runs that record (0: kept forever)."""
