"""Passwords from dlt's secret providers (.dlt/secrets.toml, environment), declared as secrets so that dlt
never writes their values into its run traces."""

from __future__ import annotations

from typing import Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue


@configspec
class _Password(BaseConfiguration):
    password: Optional[TSecretStrValue] = None


def read_password(*sections: str) -> Optional[str]:
    """`password` under `sections`, e.g. ("sources", "learnsync", "credentials") reads
    SOURCES__LEARNSYNC__CREDENTIALS__PASSWORD or [sources.learnsync.credentials] password."""
    value = resolve_configuration(_Password(), sections=sections).password
    return str(value) if value is not None else None
