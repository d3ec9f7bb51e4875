"""The share catalog: which tables a profile syncs, with key, cursor, strategy and lookback per table.

Columns always come from the share's INFORMATION_SCHEMA (see `reader.discover`); a profile adds the
vendor's keys, cursors and descriptions, and per-table config overrides any choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum
from typing import Iterable, Mapping, Optional, Sequence

from learnsync.errors import LearnsyncError
from learnsync.settings import TableSettings
from learnsync.catalog import vendor_docs
from learnsync.catalog.naming import snake_case, unique_names

# Snowflake types that hold JSON and become child tables (MAP: a structured OBJECT keyed by its own keys).
SEMI_STRUCTURED = frozenset({"ARRAY", "VARIANT", "OBJECT", "MAP"})
TIMESTAMP_TYPES = frozenset({"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ"})
GEO_TYPES = frozenset({"GEOGRAPHY", "GEOMETRY"})
TEXT_JSON_TYPES = SEMI_STRUCTURED | GEO_TYPES | {"VECTOR"}
"""Types loaded as JSON text (child tables for the semi-structured ones, see `Column.is_json`)."""
READ_RAW = frozenset({"NUMBER", "FLOAT", "BOOLEAN", "DATE", "TIME", "BINARY", "TEXT"}) | TIMESTAMP_TYPES | TEXT_JSON_TYPES
"""Types the connector's Arrow path reads as they are; any other (DECFLOAT, which connector 4.8 cannot convert,
or a type Snowflake adds later) is read as `TO_VARCHAR(column)`."""
_CURSOR_TYPES = frozenset({"TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "DATE", "NUMBER"})
DAY_COLUMN = "_LEARNSYNC_DAY"
"""Column added to event tables: the UTC day of the cursor; each run replaces whole days by it."""
DELETED_AT = "_learnsync_deleted_at"
"""Column of tables set to `soft_delete`: when reconcile found the row gone from the share."""
VALID_FROM, VALID_TO = "valid_from", "valid_to"
"""Validity columns of a table kept with `history = true`: when the version became current, and when it stopped
being current (NULL: it is current). UTC timestamps of the load that saw the change (dlt's scd2 boundary)."""
RESERVED = frozenset({"_learnsync_hash", "_learnsync_day", DELETED_AT, "_dlt_id", "_dlt_load_id"})
HISTORY_RESERVED = RESERVED | {VALID_FROM, VALID_TO}
"""Destination columns learnsync or dlt add to a parent table (history's too, whether on or not): never given to
a source column."""


class Profile(str, Enum):
    """Which vendor model to apply to the share."""

    LEARNING_360 = "360learning"
    DATACAMP = "datacamp"
    AUTO = "auto"


def profile(name: str) -> Profile:
    """The Profile a user named (any case: "360learning", "datacamp", "auto"); a LearnsyncError naming the
    choices for anything else."""
    try:
        return Profile(name.lower())
    except ValueError:
        raise LearnsyncError(f"Unknown profile {name!r}: use one of {', '.join(p.value for p in Profile)}.") from None


class Strategy(str, Enum):
    """How a table is written to the destination."""

    MERGE = "merge"  # keyed entity table: upsert on the key
    EVENTS = "events"  # keyless event table: append, re-read days are replaced whole
    REPLACE = "replace"  # no usable cursor: full reload every run


class ColumnPolicy(str, Enum):
    """What happens to a column that holds personal data."""

    EXCLUDE = "exclude"  # never read from the share: not in the SELECT, so it never leaves Snowflake
    HASH = "hash"  # salted SHA-256 computed in Snowflake's SQL; NULL stays NULL, equal values hash equal


@dataclass(frozen=True)
class Column:
    """A column as the share declares it."""

    name: str
    sf_type: str  # base type as INFORMATION_SCHEMA names it: NUMBER, TEXT, TIMESTAMP_NTZ, ARRAY...
    precision: Optional[int] = None
    scale: Optional[int] = None
    description: str = ""
    decimal: bool = False  # a NUMBER(p,0) configured to load as decimal(p,0) instead of a 64-bit integer
    dest: str = ""
    """Destination column name, unique in its table (`resolve_table` sets it; see `catalog.naming`)."""
    full_type: str = ""
    """The type as INFORMATION_SCHEMA spells it (`VECTOR(FLOAT, 768)`, `ARRAY(NUMBER(38,0))`), for messages."""

    def __post_init__(self) -> None:
        if not self.dest:
            object.__setattr__(self, "dest", snake_case(self.name))

    @property
    def is_json(self) -> bool:
        """ARRAY, VARIANT, OBJECT or MAP: JSON text that becomes a child table."""
        return self.sf_type in SEMI_STRUCTURED

    @property
    def reads_as_text(self) -> bool:
        """Whether the reader selects the column as `TO_VARCHAR(...)` (DECFLOAT and types it does not know)."""
        return self.sf_type not in READ_RAW


@dataclass(frozen=True)
class TableSpec:
    """Everything the reader and the pipeline need to sync one table."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    cursor: Optional[str]
    strategy: Strategy
    lookback: timedelta
    description: str = ""
    excluded: tuple[str, ...] = field(default=())
    hashed: tuple[str, ...] = field(default=())
    soft_delete: bool = False
    history: bool = False
    """Every version of a row is kept (`valid_from`/`valid_to`), see `pipelines.history`."""
    dest_name: str = ""
    """Destination table name: `COURSES_TRACKINGS` -> `courses_trackings` (`plan` keeps it unique)."""

    def __post_init__(self) -> None:
        if not self.dest_name:
            object.__setattr__(self, "dest_name", snake_case(self.name))

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def dest(self, name: str) -> str:
        """Destination name of a source column of this table."""
        return self.column(name).dest

    @property
    def key_dest(self) -> tuple[str, ...]:
        """Destination names of the key columns."""
        return tuple(self.dest(k) for k in self.primary_key)

    @property
    def cursor_column(self) -> Optional[Column]:
        return self.column(self.cursor) if self.cursor else None

    @property
    def json_columns(self) -> tuple[Column, ...]:
        # child tables hang off the key; a keyless table keeps its JSON in the parent column only
        return tuple(c for c in self.columns if c.is_json) if self.primary_key else ()

    @property
    def policies(self) -> dict[str, ColumnPolicy]:
        """The personal-data policy of each configured column (excluded first, then hashed)."""
        return {**{c: ColumnPolicy.EXCLUDE for c in self.excluded}, **{c: ColumnPolicy.HASH for c in self.hashed}}


def _find(columns: Mapping[str, Column], *candidates: str) -> Optional[str]:
    """The share's spelling of the first candidate it has, matched case-insensitively (a quoted lower-case
    identifier such as `"created_at"` is as good a cursor as `CREATED_AT`; an exact match wins)."""
    for cand in candidates:
        if cand in columns:
            return cand
        folded = [name for name in columns if name.upper() == cand.upper()]
        if folded:
            return folded[0]
    return None


def _usable_cursor(columns: Mapping[str, Column], name: Optional[str]) -> Optional[str]:
    if name is None:
        return None
    col = columns[name]
    if col.sf_type not in _CURSOR_TYPES or (col.sf_type == "NUMBER" and col.scale):
        return None
    return name


def _convention_key(table: str, columns: Mapping[str, Column]) -> tuple[str, ...]:
    upper = table.upper()
    base = re.sub(r"^(DIM|FACT)_", "", upper)
    singular = base[:-1] if base.endswith("S") else base
    key = _find(columns, "ID", f"{upper}_ID", f"{base}_ID", f"{singular}_ID")
    first = next(iter(columns), "")
    if key is None and upper.startswith("DIM_") and first.upper().endswith("_ID"):
        key = first  # a dimension's leading *_ID column is its key (DIM_TRACK.TRACK_VERSION_ID)
    return (key,) if key else ()


def _convention_cursor(columns: Mapping[str, Column]) -> Optional[str]:
    return _usable_cursor(
        columns, _find(columns, "MODIFIED_AT", "UPDATED_AT")
    ) or _usable_cursor(columns, _find(columns, "CREATED_AT")) or _usable_cursor(
        columns, _find(columns, "OCCURRED_AT")
    )


def _docs_for(profile: Profile) -> dict[str, vendor_docs.TableDoc]:
    if profile is Profile.LEARNING_360:
        return {t.name: t for t in vendor_docs.LEARNING_360}
    if profile is Profile.DATACAMP:
        return {t.name: t for t in vendor_docs.DATACAMP_FACTS}
    return {}


def _describe(columns: Iterable[Column], doc: Optional[vendor_docs.TableDoc]) -> tuple[Column, ...]:
    described = {c.name: c.description for c in doc.columns} if doc else {}
    return tuple(replace(c, description=c.description or described.get(c.name, "")) for c in columns)


def expected_tables(profile: Profile) -> tuple[str, ...]:
    """Tables the vendor documents for a profile (warned about when the share lacks them)."""
    return tuple(_docs_for(profile))


def known_tables(profile: Profile) -> frozenset[str]:
    """Tables a vendor profile recognizes: the ones it documents, and the dimensions its fact tables' documentation
    names (DataCamp documents no DIM_* table, yet a share of only dimensions is still DataCamp's)."""
    dimensions = vendor_docs.DATACAMP_DIMENSION_JOINS if profile is Profile.DATACAMP else {}
    return frozenset(expected_tables(profile)) | frozenset(dimensions)


def resolve_table(
    profile: Profile,
    name: str,
    columns: Sequence[Column],
    settings: Optional[TableSettings] = None,
) -> TableSpec:
    """Key, cursor and strategy of one discovered table, by profile rules and then its `TableSettings` (config).

    Raises LearnsyncError for settings that do not fit the table (an unknown column, a cursor of the wrong type,
    a key or cursor excluded, a policy or strategy that does not exist), saying what to change."""
    doc = _docs_for(profile).get(name)
    by_name = {c.name: c for c in columns}
    lookback = timedelta(hours=24)
    if profile is Profile.LEARNING_360 and doc is not None:
        key = ("DATE",) if name == "DAILY_METRICS" else (_find(by_name, "ID"),)
        key = tuple(k for k in key if k)
        cursor = (
            "DATE"
            if name == "DAILY_METRICS"
            else _usable_cursor(by_name, _find(by_name, "MODIFIED_AT"))
            or _usable_cursor(by_name, _find(by_name, "CREATED_AT"))
        )
    elif profile is Profile.DATACAMP and doc is not None:
        key, cursor = (), _usable_cursor(by_name, _find(by_name, "OCCURRED_AT"))
    else:
        key, cursor = _convention_key(name, by_name), _convention_cursor(by_name)

    override = settings or TableSettings()
    if override.exclude_columns:
        cols = ", ".join(f'{c} = "exclude"' for c in override.exclude_columns)
        raise LearnsyncError(f"Table {name}: exclude_columns is replaced by column_policy = {{{cols}}}.")
    try:
        chosen = {c: ColumnPolicy(str(p).lower()) for c, p in (override.column_policy or {}).items()}
    except ValueError:
        raise LearnsyncError(
            f"Table {name}: a column_policy value must be one of {[p.value for p in ColumnPolicy]}."
        ) from None
    if override.primary_key is not None:
        key = tuple(_require_column(name, by_name, k) for k in override.primary_key)
    if override.cursor is not None:
        cursor = _require_column(name, by_name, override.cursor)
        if _usable_cursor(by_name, cursor) is None:
            raise LearnsyncError(
                f"Column {cursor!r} of table {name} cannot be a cursor (type {by_name[cursor].sf_type});"
                " pick a TIMESTAMP, DATE or integer column in the table's config."
            )
    wanted = {_require_column(name, by_name, c): p for c, p in chosen.items()}
    policies = {c.name: wanted[c.name] for c in columns if c.name in wanted}  # in the share's column order
    excluded = tuple(c for c, p in policies.items() if p is ColumnPolicy.EXCLUDE)
    hashed = tuple(c for c, p in policies.items() if p is ColumnPolicy.HASH)
    if set(excluded) & set(key + ((cursor,) if cursor else ())):
        raise LearnsyncError(f"Table {name}: a key or cursor column cannot be excluded.")
    if cursor in hashed:
        raise LearnsyncError(f"Table {name}: the cursor column {cursor} cannot be hashed (its order is needed).")
    for c in hashed:
        if by_name[c].sf_type != "TEXT":
            raise LearnsyncError(
                f"Table {name}: column {c} is {by_name[c].sf_type}; only text columns can be hashed (exclude it instead)."
            )

    strategy = Strategy.MERGE if key else Strategy.EVENTS
    if cursor is None:
        strategy = Strategy.REPLACE
    if override.strategy is not None:
        try:
            strategy = Strategy(str(override.strategy).lower())
        except ValueError:
            raise LearnsyncError(f"Table {name}: strategy must be one of {[s.value for s in Strategy]}.") from None
        if strategy is Strategy.MERGE and not key:
            raise LearnsyncError(f"Table {name}: strategy 'merge' needs a primary_key in its config.")
        if strategy is not Strategy.REPLACE and cursor is None:
            raise LearnsyncError(f"Table {name}: strategy {strategy.value!r} needs a cursor in its config.")
    if override.history and strategy is not Strategy.MERGE:
        raise LearnsyncError(
            f"Table {name}: history = true needs a keyed table synced with strategy 'merge' (it is {strategy.value!r});"
            " set primary_key (and a cursor) in its config, or turn history off."
        )
    if override.history and override.soft_delete:
        raise LearnsyncError(
            f"Table {name}: history = true already keeps rows the share deleted (their last version is closed);"
            " remove soft_delete from its config."
        )
    if strategy is Strategy.EVENTS:
        lookback = timedelta(days=3)
    if override.lookback_hours is not None:
        lookback = timedelta(hours=override.lookback_hours)

    if doc is None and profile is Profile.DATACAMP:  # its dimensions: described from their names, marked so
        doc = vendor_docs.named_doc("DataCamp", name, tuple(by_name))
    decimals = set(_decimal_columns(name, by_name, override.decimal_columns or ()))
    kept = [replace(c, decimal=c.name in decimals) for c in _describe(columns, doc) if c.name not in excluded]
    # every column gets a destination name of its own, in the share's column order (catalog.naming); the history
    # columns are never a vendor's, history on or off, so turning history on renames nothing (`VALID_FROM` ->
    # `valid_from_2`); `_LEARNSYNC_*` and `_DLT_*` lose their leading `_` (snake_case), so never meet ours
    dests = unique_names([c.name for c in kept], taken=HISTORY_RESERVED)
    kept = [replace(c, dest=dests[c.name]) for c in kept]
    return TableSpec(
        name=name,
        columns=tuple(kept),
        primary_key=key,
        cursor=cursor,
        strategy=strategy,
        lookback=lookback,
        description=doc.description if doc else "",
        excluded=excluded,
        hashed=hashed,
        soft_delete=override.soft_delete and bool(key),
        history=override.history,
    )


def _decimal_columns(table: str, columns: Mapping[str, Column], names: Sequence[str]) -> list[str]:
    found = [_require_column(table, columns, n) for n in names]
    for name in found:
        col = columns[name]
        if col.sf_type != "NUMBER" or col.scale:
            raise LearnsyncError(
                f"Table {table}: decimal_columns lists {name}, a {col.sf_type}({col.precision},{col.scale}) column;"
                " only NUMBER(p,0) columns need it (other NUMBERs load as decimal already)."
            )
    return found


def _require_column(table: str, columns: Mapping[str, Column], name: str) -> str:
    found = _find(columns, name)
    if found is None:
        raise LearnsyncError(
            f"Table {table} has no column {name!r}; its columns are: {', '.join(sorted(columns))}."
        )
    return found


def select_tables(profile: Profile, discovered: Sequence[str]) -> list[str]:
    """Names of the discovered tables that a profile syncs, in a stable order."""
    documented = _docs_for(profile)
    if profile is Profile.LEARNING_360:
        return [t for t in documented if t in discovered]
    return sorted(discovered)
