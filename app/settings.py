"""Secrets from dlt's providers (.dlt/secrets.toml, environment), declared as secrets so that dlt never writes
their values into its run traces."""

from __future__ import annotations

from typing import Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

SOURCE_CREDENTIALS = ("sources", "learnsync", "credentials")

DEFAULT_DESTINATION = "duckdb:///./learnsync.duckdb"
"""Where a sync loads when no destination URI is given: a DuckDB file in the working directory."""
WINDOW_ROWS = 250_000
"""Rows per committed window by default (`--window-rows`): memory follows it, at most two windows are held."""
LOCK_TIMEOUT = 600.0
"""Seconds a run waits for another run syncing the same table before it stops (`--lock-timeout`)."""


@configspec
class _Password(BaseConfiguration):
    password: Optional[TSecretStrValue] = None


@configspec
class SnowflakeSecrets(BaseConfiguration):
    """`[sources.learnsync.credentials]`: what the chosen authenticator needs, nothing else is read."""

    password: Optional[TSecretStrValue] = None
    private_key: Optional[TSecretStrValue] = None  # PEM text
    private_key_path: Optional[str] = None  # a PEM file; a path is not a secret
    private_key_passphrase: Optional[TSecretStrValue] = None
    token: Optional[TSecretStrValue] = None  # a programmatic access token or an OAuth access token


@configspec
class _Salt(BaseConfiguration):
    pii_salt: Optional[TSecretStrValue] = None


def read_password(*sections: str) -> Optional[str]:
    """`password` under `sections`, e.g. ("destination", "postgres", "credentials") reads
    DESTINATION__POSTGRES__CREDENTIALS__PASSWORD or [destination.postgres.credentials] password."""
    value = resolve_configuration(_Password(), sections=sections).password
    return str(value) if value is not None else None


def read_source_secrets() -> SnowflakeSecrets:
    """The Snowflake login secrets: [sources.learnsync.credentials] or SOURCES__LEARNSYNC__CREDENTIALS__<NAME>."""
    return resolve_configuration(SnowflakeSecrets(), sections=SOURCE_CREDENTIALS)


def read_pii_salt() -> Optional[str]:
    """The salt of hashed columns: [sources.learnsync] pii_salt or SOURCES__LEARNSYNC__PII_SALT."""
    value = resolve_configuration(_Salt(), sections=("sources", "learnsync")).pii_salt
    return str(value) if value else None
