"""Source URI -> Snowflake connection, with user mistakes turned into one clear message."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit


from learnsync.errors import LearnsyncError, SourceUnreachable
from learnsync.settings import read_source_secrets

_QUERY_KEYS = {"warehouse", "role", "host", "port", "protocol", "authenticator", "login_timeout", "network_timeout",
               "socket_timeout"}
TIMEOUTS = {"login_timeout": 30, "network_timeout": 120, "socket_timeout": 60}
"""Seconds: to log in; for one request with the connector's retries (the connector's default is forever); for one
socket read. Snowflake answers a long query with "still running" within ~45 s, so a read never legitimately
waits longer than a minute, and a source that stops answering fails a run in about two minutes at most."""
SESSION_PARAMETERS = {
    # TIMESTAMP_NTZ is UTC wall-clock time, and LTZ/TZ batches are labelled with the session's zone: keep it UTC
    "TIMEZONE": "UTC",
    # an account or user may default to JSON results, and then fetch_arrow_batches() raises NotSupportedError
    "PYTHON_CONNECTOR_QUERY_RESULT_FORMAT": "ARROW",
    # GEOGRAPHY/GEOMETRY as GeoJSON text (an account may default to WKB binary)
    "GEOGRAPHY_OUTPUT_FORMAT": "GeoJSON",
    "GEOMETRY_OUTPUT_FORMAT": "GeoJSON",
    "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False,
}
"""Pinned for every learnsync session, whatever the account's defaults (`snowflake-result-wire-format.md`)."""
URI_FORM = "snowflake://USER:PASSWORD@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE"
_SECRETS = "[sources.learnsync.credentials] in .dlt/secrets.toml (env SOURCES__LEARNSYNC__CREDENTIALS__<NAME>)"


class Authenticator(str, Enum):
    """How learnsync logs in to Snowflake: the connector's authenticator names, chosen with `?authenticator=`."""

    PASSWORD = "snowflake"
    KEY_PAIR = "snowflake_jwt"
    PAT = "programmatic_access_token"
    OAUTH = "oauth"


@dataclass(frozen=True)
class SnowflakeSource:
    """Where the share lives and how to log in. `repr` never shows a secret."""

    account: str
    user: str
    database: str
    schema: str
    password: Optional[str] = field(default=None, repr=False)
    options: dict[str, str] = field(default_factory=dict)
    authenticator: Authenticator = Authenticator.PASSWORD
    token: Optional[str] = field(default=None, repr=False)
    private_key: Optional[str] = field(default=None, repr=False)  # PEM text
    private_key_path: Optional[str] = None
    private_key_passphrase: Optional[str] = field(default=None, repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value this source holds, for scrubbing messages."""
        return tuple(s for s in (self.password, self.token, self.private_key, self.private_key_passphrase) if s)

    def redacted(self) -> str:
        """The URI without secrets, for messages and logs."""
        opts = "&".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"snowflake://{self.user}:***@{self.account}/{self.database}/{self.schema}" + (f"?{opts}" if opts else "")

    def connect_kwargs(self) -> dict[str, Any]:
        """snowflake.connector.connect() arguments; a private key that cannot be loaded is a LearnsyncError."""
        kwargs: dict[str, Any] = {
            "account": self.account,
            "user": self.user,
            "database": self.database,
            "schema": self.schema,
            # bounded: the connector's defaults are 120 s to log in and retrying a request forever
            **{key: int(self.options.get(key, default)) for key, default in TIMEOUTS.items()},
            "session_parameters": dict(SESSION_PARAMETERS),
            "client_session_keep_alive": False,
            # NUMBER(p,s) as decimal128(38,s), not float64 (the connector's default loses digits past 15-17)
            "arrow_number_to_decimal": True,
            "authenticator": self.authenticator.value.upper(),
        }
        if self.authenticator is Authenticator.PASSWORD:
            kwargs["password"] = self.password
        elif self.authenticator is Authenticator.KEY_PAIR:
            kwargs["private_key"] = self._load_private_key()
        else:
            kwargs["token"] = self.token
        for key in ("warehouse", "role", "host", "protocol"):
            if key in self.options:
                kwargs[key] = self.options[key]
        if "port" in self.options:
            kwargs["port"] = int(self.options["port"])
        return kwargs

    def _load_private_key(self) -> Any:
        # loaded here with `cryptography`, as Snowflake's docs do, so a wrong passphrase is our one-line message
        # rather than the connector's; the connector takes the key object as `private_key`
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        origin = f"private_key_path {self.private_key_path}" if self.private_key_path else "private_key secret"
        if self.private_key_path:
            try:
                pem = Path(self.private_key_path).expanduser().read_bytes()
            except OSError as exc:
                raise LearnsyncError(f"Cannot read the Snowflake private key file {self.private_key_path}: "
                                     f"{exc.strerror}.") from None
        else:
            pem = (self.private_key or "").encode()
        passphrase = self.private_key_passphrase.encode() if self.private_key_passphrase else None
        try:
            return load_pem_private_key(pem, password=passphrase)
        except TypeError:
            # cryptography: "Password was not given but private key is encrypted" or the reverse
            need = "is encrypted: set private_key_passphrase" if passphrase is None else (
                "is not encrypted: remove private_key_passphrase")
            raise LearnsyncError(f"The Snowflake private key ({origin}) {need} in {_SECRETS}.") from None
        except Exception:  # noqa: BLE001 - cryptography raises ValueError or UnsupportedAlgorithm for bad input
            if passphrase is not None and b"ENCRYPTED" in pem:
                raise LearnsyncError(
                    f"The Snowflake private key ({origin}) could not be decrypted: check private_key_passphrase."
                ) from None
            raise LearnsyncError(
                f"The Snowflake private key ({origin}) is not a PEM private key"
                " (expected -----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)."
            ) from None


def parse_source_uri(uri: Optional[str], password: Optional[str] = None) -> SnowflakeSource:
    """Parse `snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE/SCHEMA?...[&authenticator=...]`.

    Secrets not in the URI come from `password` or else dlt secrets ([sources.learnsync.credentials] password,
    private_key, private_key_path, private_key_passphrase, token). Without `authenticator=`, a configured
    private key selects key-pair login, else the password is used."""
    explicit = password
    if not uri:
        raise LearnsyncError(f"No source given: pass --source-uri {URI_FORM} (or set LEARNSYNC_SOURCE_URI).")
    parts = urlsplit(uri)
    if parts.scheme != "snowflake":
        raise LearnsyncError(f"The source URI must start with snowflake://, like {URI_FORM}.")
    path = [unquote(p) for p in parts.path.split("/") if p]
    try:
        host = parts.hostname
        user = unquote(parts.username or "")
        password = unquote(parts.password) if parts.password is not None else explicit
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        port = query.get("port")
        if port is not None:
            int(port)
    except ValueError:
        raise LearnsyncError(f"The source URI is malformed; expected {URI_FORM}.") from None
    if not host or not user or len(path) != 2:
        raise LearnsyncError(
            f"The source URI needs a user, an account, a database and a schema: {URI_FORM}."
        )
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise LearnsyncError(
            f"Unknown source URI option(s) {', '.join(unknown)}; known: {', '.join(sorted(_QUERY_KEYS))}."
        )
    options = {k: v for k, v in query.items() if v != "" and k != "authenticator"}
    secrets = read_source_secrets()
    if secrets.private_key and secrets.private_key_path:
        raise LearnsyncError("Give the Snowflake private key once: private_key or private_key_path, not both.")
    has_key = bool(secrets.private_key or secrets.private_key_path)
    auth = _authenticator(query.get("authenticator") or None, has_key)
    # account names are case-insensitive; the URI parser lowercases the host anyway
    return SnowflakeSource(
        host, user, path[0], path[1],
        password=password if password is not None else _str(secrets.password),
        options=options,
        authenticator=auth,
        token=_str(secrets.token),
        private_key=_str(secrets.private_key),
        private_key_path=secrets.private_key_path,
        private_key_passphrase=_str(secrets.private_key_passphrase),
    )


def _str(value: Any) -> Optional[str]:
    return str(value) if value else None


def _authenticator(name: Optional[str], has_key: bool) -> Authenticator:
    if name is None:
        return Authenticator.KEY_PAIR if has_key else Authenticator.PASSWORD
    try:
        return Authenticator(name.lower())
    except ValueError:
        raise LearnsyncError(
            f"Unknown authenticator {name!r} in the source URI; use one of {', '.join(a.value for a in Authenticator)}."
        ) from None


_NEEDS = {
    Authenticator.PASSWORD: ("password", 'put it in the source URI or in {where} as password = "..."'),
    Authenticator.KEY_PAIR: ("private key", "set private_key (PEM text) or private_key_path in {where}"),
    Authenticator.PAT: ("programmatic access token", 'set token = "..." in {where}'),
    Authenticator.OAUTH: ("OAuth access token", 'set token = "..." in {where}'),
}


def connect(source: SnowflakeSource) -> Any:
    """Open a connection; bad credentials, a missing warehouse or an unreachable host is a LearnsyncError."""
    import snowflake.connector
    from snowflake.connector import errors as sf_errors

    what, how = _NEEDS[source.authenticator]
    given = {
        Authenticator.PASSWORD: source.password,
        Authenticator.KEY_PAIR: source.private_key or source.private_key_path,
    }.get(source.authenticator, source.token)
    if not given:
        raise LearnsyncError(f"No Snowflake {what}: {how.format(where=_SECRETS)}.")
    kwargs = source.connect_kwargs()
    try:
        return snowflake.connector.connect(**kwargs)
    except sf_errors.Error as exc:
        why, reachable = _explain(source, exc)
        raise (LearnsyncError if reachable else SourceUnreachable)(why) from None


_LOGIN_FAILED = {
    Authenticator.PASSWORD: "check the user and password (or secret) you gave",
    Authenticator.KEY_PAIR: "check the user, and that its RSA_PUBLIC_KEY matches the private key you gave",
    Authenticator.PAT: "check the user and the programmatic access token (expired or revoked?)",
    Authenticator.OAUTH: "check the OAuth access token (expired?) and the role it allows",
}
# Snowflake's login rejections: wrong password, invalid JWT, user locked/disabled, OAuth/PAT token invalid or expired
_LOGIN_CODES = (390100, 390102, 390144, 390303, 390318, 390422)


def source_lost(exc: BaseException) -> Optional[str]:
    """A read that failed because the source went away (network, timeout, server gone), as one clear line."""
    from snowflake.connector import errors as sf_errors

    if not isinstance(exc, (sf_errors.OperationalError, sf_errors.InterfaceError)):
        return None
    text = " ".join(str(exc).split())[:300]
    return (f"The Snowflake source stopped answering while reading ({text}); the windows loaded before stay"
            " committed with their cursor: run again when it is back.")


def _explain(source: SnowflakeSource, exc: Exception) -> tuple[str, bool]:
    """One line saying why the connection failed, and whether the source answered at all."""
    text = str(exc)
    for secret in source.secrets:
        text = text.replace(secret, "***")
    where = f"Snowflake account {source.account!r} as user {source.user!r}"
    errno = getattr(exc, "errno", None)
    lowered = text.lower()
    if errno in _LOGIN_CODES or any(w in lowered for w in ("password", "jwt", "token")):
        return f"Login to {where} ({source.authenticator.value}) failed: {_LOGIN_FAILED[source.authenticator]}.", True
    if errno in (250001, 250003) or "connect" in lowered or "timed out" in lowered:
        why = f"Could not reach {where}: check the account, host and port, and your network. ({text.strip()[:200]})"
        return why, False
    return f"Snowflake refused the connection for {where}: {' '.join(text.split())[:300]}", True
