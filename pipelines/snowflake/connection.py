"""Source URI -> Snowflake connection, with user mistakes turned into one clear message."""

from __future__ import annotations

from typing import Any, Optional

from learnsync.errors import LearnsyncError, SourceUnreachable
from learnsync.pipelines.snowflake.cost import QueryTag
from learnsync.settings import Authenticator, ShareCredentials, share_credentials


def parse_source_uri(uri: Optional[str], password: Optional[str] = None) -> ShareCredentials:
    """The credentials of `snowflake://USER[:PASSWORD]@ACCOUNT/DATABASE/SCHEMA?...[&authenticator=...]`; the
    secrets the URI leaves out come from `password` or else dlt secrets ([sources.learnsync.credentials]
    password, private_key, private_key_path, private_key_passphrase, token). Without `authenticator=`, a
    configured private key selects key-pair login, else the password is used. Raises LearnsyncError for a
    missing or malformed URI (nothing is connected yet)."""
    return share_credentials(uri, password)


def connect(source: ShareCredentials, tag: Optional[QueryTag] = None) -> Any:
    """Open a snowflake-connector connection. With `tag`, the session logs in with it as its `QUERY_TAG` (sent in
    the login request's SESSION_PARAMETERS, with the pinned settings.SESSION_PARAMETERS), so every query of the
    session carries it. A missing secret, a key that cannot be loaded, refused credentials or a missing warehouse
    is a LearnsyncError; a source that cannot be reached is SourceUnreachable (a flow retries it). The message
    names what to check and never holds a secret."""
    import snowflake.connector
    from snowflake.connector import errors as sf_errors

    missing = source.missing()
    if missing:
        raise LearnsyncError(missing)
    kwargs = source.to_connector_params()
    if tag is not None:
        kwargs["session_parameters"]["QUERY_TAG"] = tag.text()
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


def _explain(source: ShareCredentials, exc: Exception) -> tuple[str, bool]:
    """One line saying why the connection failed, and whether the source answered at all."""
    text = source.mask(str(exc))
    where = f"Snowflake account {source.host!r} as user {source.username!r}"
    errno = getattr(exc, "errno", None)
    lowered = text.lower()
    if errno in _LOGIN_CODES or any(w in lowered for w in ("password", "jwt", "token")):
        method = source.method
        return f"Login to {where} ({method.value}) failed: {_LOGIN_FAILED[method]}.", True
    if errno in (250001, 250003) or "connect" in lowered or "timed out" in lowered:
        why = f"Could not reach {where}: check the account, host and port, and your network. ({text.strip()[:200]})"
        return why, False
    return f"Snowflake refused the connection for {where}: {' '.join(text.split())[:300]}", True
