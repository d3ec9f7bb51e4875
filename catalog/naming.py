"""Destination names of the share's tables, columns and JSON object keys: collision-free and stable.

dlt normalizes every identifier it receives with its `snake_case` naming convention (ASCII letters, digits and
`_`; lower case; a trailing `_` becomes `x`) and then shortens names past the destination's limit (Postgres: 63
bytes) with a hash tag. Two source names can normalize to one (`"userId"` and `USER_ID`, the object keys
`"first-name"`, `"first_name"` and `"First Name"`), and dlt would then load both into one column. learnsync
therefore names everything itself, already in dlt's normal form, and gives every name a column of its own:

- the first name keeps the plain name, later ones get `_2`, `_3`, ... (`user_id`, `user_id_2`): columns in the
  share's column order; object keys in the order learnsync first met them, and keys met in one batch with a key
  already in normal form first, then by text (`first_name`, then `"First Name"` -> `first_name_2`);
- a name that normalizes to nothing (an empty or blank object key) is `empty_key`;
- names learnsync itself adds to a table (`_learnsync_hash`, `position`, ...) are never given to source data.

Shortening is left to dlt (it is destination specific); where learnsync writes SQL against the destination it
asks the pipeline's schema for the name dlt created (`SchemaNames`).
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from dlt.common.normalizers.naming.snake_case import NamingConvention

_DLT = NamingConvention()  # no length limit: shortening is per destination, done by dlt when it loads
EMPTY_KEY = "empty_key"


def snake_case(name: str) -> str:
    """The base destination name of a source identifier: `COURSES_TRACKINGS` -> `courses_trackings`,
    `userId` -> `user_id`, `""` -> `empty_key`. Already in dlt's normal form, so dlt keeps it as it is."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    if not s:
        return EMPTY_KEY if not name.strip() else _DLT.normalize_identifier(name)
    return _DLT.normalize_identifier(s)


def unique_names(sources: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Collision-free destination names of `sources`, in their order: the first source of a name keeps it,
    later ones get `_2`, `_3`, ...; names in `taken` are never handed out.

    Returns {source name: destination name}; a source given twice keeps its first name."""
    used = set(taken)
    out: dict[str, str] = {}
    for source in sources:
        if source in out:
            continue
        out[source] = _free(snake_case(source), used)
        used.add(out[source])
    return out


def extend_names(known: Mapping[str, str], sources: Sequence[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """`known` plus names for the `sources` it lacks, in `name_order`, so every batch assigns them alike."""
    new = sorted((s for s in set(sources) if s not in known), key=name_order)
    return {**known, **unique_names(new, set(taken) | set(known.values()))}


def name_order(source: str) -> tuple[bool, str]:
    """Order in which new names are handed out: a name already in normal form first (`first_name` keeps
    `first_name` beside `"First Name"`), then by text."""
    return snake_case(source) != source, source


def _free(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    n = 2
    while f"{base}_{n}" in used:
        n += 1
    return f"{base}_{n}"
