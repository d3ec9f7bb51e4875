"""Planning a run: the share discovered, the tables chosen and resolved with their settings."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Optional, Sequence

from learnsync.errors import LearnsyncError
from learnsync.catalog.tables import Profile, TableSpec, expected_tables, known_tables, resolve_table, select_tables
from learnsync.catalog.naming import unique_names
from learnsync.pipelines.snowflake.reader import ShareReader
from learnsync.settings import TableSettings, read_pii_salt, table_settings

log = logging.getLogger("learnsync.sync")


def plan(
    reader: ShareReader,
    profile: Profile,
    tables: Optional[Sequence[str]] = None,
    overrides: Optional[dict[str, TableSettings]] = None,
) -> list[TableSpec]:
    """Discover the share and resolve the tables to sync (in the profile's order), with each table's settings
    from config (or `overrides`). Unknown table names, settings that do not fit and a hash policy without its
    salt are a LearnsyncError, raised before anything is read."""
    discovered = reader.discover()
    refuse_unfit_profile(profile, list(discovered))
    names = select_tables(profile, list(discovered))
    if not tables:
        for missing in sorted(set(expected_tables(profile)) - set(discovered)):
            log.warning("Table %s of the %s model is not in the share; skipped.", missing, profile.value)
    else:
        # identifiers match case-insensitively; the share's own spelling is what gets quoted
        wanted = {t.strip().upper(): t.strip() for t in tables if t.strip()}
        unknown = sorted(w for w in wanted if w not in {n.upper() for n in names})
        if unknown:
            raise LearnsyncError(
                f"Unknown table(s) {', '.join(wanted[u] for u in unknown)}; the share has: {', '.join(names)}."
            )
        names = [n for n in names if n.upper() in wanted]

    def settings(name: str) -> TableSettings:
        return overrides.get(name, TableSettings()) if overrides is not None else table_settings(name)

    # table names unique over the whole share (not only the chosen tables), so a table's name never depends on
    # which tables a run selects
    dest_names = unique_names(list(discovered))
    specs = [replace(resolve_table(profile, n, discovered[n], settings(n)), dest_name=dest_names[n]) for n in names]
    hashing = [s.name for s in specs if s.hashed]
    if hashing and read_pii_salt() is None:
        # never an unhashed load: without the salt nothing is read
        raise LearnsyncError(
            f"Table(s) {', '.join(hashing)} hash columns but no salt is set: put pii_salt = \"...\" under"
            " [sources.learnsync] in .dlt/secrets.toml (or set SOURCES__LEARNSYNC__PII_SALT); keep it secret and stable."
        )
    return specs


def refuse_unfit_profile(profile: Profile, discovered: Sequence[str]) -> None:
    """A vendor profile none of whose documented tables is in the share is a LearnsyncError naming the profile
    that fits (loading the share under the wrong vendor's keys, cursors and comments is never what was meant)."""
    documented = known_tables(profile)
    if not documented or documented & set(discovered):
        return
    fits = [p.value for p in Profile if p is not profile and known_tables(p) & set(discovered)]
    hint = f"--profile {fits[0]}" if fits else "the profile of the vendor whose share this is"
    raise LearnsyncError(f"None of the {profile.value} profile's tables is in the share (it has"
                         f" {', '.join(sorted(discovered)[:5])}{', ...' if len(discovered) > 5 else ''}): use {hint},"
                         " or --profile auto to load a share of another shape.")
