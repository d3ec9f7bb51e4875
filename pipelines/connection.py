"""Source URI -> Snowflake connection, with user mistakes turned into one clear message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit


from learnsync.errors import LearnsyncError
from learnsync.secrets import read_password

_QUERY_KEYS = {"warehouse", "role", "host", "port", "protocol", "authenticator", "login_timeout", "network_timeout"}
URI_FORM = "snowflake://USER:PASSWORD@ACCOUNT/DATABASE/SCHEMA?warehouse=WH&role=ROLE"


@dataclass(frozen=True)
class SnowflakeSource:
    """Where the share lives and how to log in. `repr` never shows the password."""

    account: str
    user: str
    database: str
    schema: str
    password: Optional[str] = field(default=None, repr=False)
    options: dict[str, str] = field(default_factory=dict)

    def redacted(self) -> str:
        """The URI without secrets, for messages and logs."""
        opts = "&".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"snowflake://{self.user}:***@{self.account}/{self.database}/{self.schema}" + (f"?{opts}" if opts else "")

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "account": self.account,
            "user": self.user,
            "database": self.database,
            "schema": self.schema,
            # a user waits 30 s at most for an unreachable host, not the connector's default 120 s
            "login_timeout": int(self.options.get("login_timeout", 30)),
            "network_timeout": int(self.options.get("network_timeout", 600)),
            "socket_timeout": int(self.options.get("network_timeout", 600)),
            # TIMESTAMP_NTZ is UTC wall-clock time: keep the session in UTC so nothing shifts it
            "session_parameters": {"TIMEZONE": "UTC", "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            "client_session_keep_alive": False,
        }
        if self.password is not None:
            kwargs["password"] = self.password
        for key in ("warehouse", "role", "host", "protocol", "authenticator"):
            if key in self.options:
                kwargs[key] = self.options[key]
        if "port" in self.options:
            kwargs["port"] = int(self.options["port"])
        return kwargs


def parse_source_uri(uri: Optional[str], password: Optional[str] = None) -> SnowflakeSource:
    """Parse `snowflake://USER:PASSWORD@ACCOUNT/DATABASE/SCHEMA?...`; a password not in the URI is `password`
    or else read from dlt secrets (`sources.learnsync.credentials.password`, env
    `SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD`)."""
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
    if password is None:
        password = read_password("sources", "learnsync", "credentials")
    # account names are case-insensitive; the URI parser lowercases the host anyway
    return SnowflakeSource(host, user, path[0], path[1], password, {k: v for k, v in query.items() if v != ""})


def connect(source: SnowflakeSource) -> Any:
    """Open a connection; a wrong password, a missing warehouse or an unreachable host is a LearnsyncError."""
    import snowflake.connector
    from snowflake.connector import errors as sf_errors

    if source.password is None and "authenticator" not in source.options:
        raise LearnsyncError(
            "No Snowflake password: put it in the source URI or in .dlt/secrets.toml as"
            " [sources.learnsync.credentials] password = \"...\"."
        )
    try:
        return snowflake.connector.connect(**source.connect_kwargs())
    except sf_errors.DatabaseError as exc:
        raise LearnsyncError(_explain(source, exc)) from None


def _explain(source: SnowflakeSource, exc: Exception) -> str:
    text = str(exc)
    if source.password:
        text = text.replace(source.password, "***")
    where = f"Snowflake account {source.account!r} as user {source.user!r}"
    errno = getattr(exc, "errno", None)
    if errno in (390100, 390144, 390422) or "password" in text.lower():
        return f"Login to {where} failed: check the user and password (or secret) you gave."
    if errno in (250001, 250003) or "connect" in text.lower() or "timed out" in text.lower():
        return f"Could not reach {where}: check the account, host and port, and your network. ({text.strip()[:200]})"
    return f"Snowflake refused the connection for {where}: {text.strip()[:300]}"
