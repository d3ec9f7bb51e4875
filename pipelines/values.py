"""What a table run did to values a destination cannot hold as they are: counts, reported per run.

Decided once for every destination (issue 20): a NUL character (`\\u0000`) is removed from text and from the strings
inside VARIANT/ARRAY/OBJECT values (Postgres text and jsonb cannot hold it, and one behaviour everywhere keeps the
destinations alike); a row of a keyed table with a NULL key, or a NULL part of a composite key, is skipped (no
merge, primary key or child table can hold it). Both are counted and said in the table's line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ValueCounts:
    """Values changed or rows left out while a table run prepared its windows."""

    nul_removed: int = 0
    """NUL characters removed from text and JSON strings."""
    skipped_null_keys: int = 0
    """Rows skipped for a NULL key (part)."""

    def add(self, other: "ValueCounts") -> None:
        self.nul_removed += other.nul_removed
        self.skipped_null_keys += other.skipped_null_keys

    def line(self) -> str:
        """What was done, for the table's line ("" when nothing)."""
        parts = []
        if self.nul_removed:
            parts.append(f"{self.nul_removed} NUL character{'' if self.nul_removed == 1 else 's'} removed")
        if self.skipped_null_keys:
            rows = "row" if self.skipped_null_keys == 1 else "rows"
            parts.append(f"{self.skipped_null_keys} {rows} skipped for a NULL key")
        return ", ".join(parts)
