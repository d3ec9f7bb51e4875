"""SQL analysis for the realistic wire: which result columns are bare reads of declared table columns, and the
declared types INFORMATION_SCHEMA.COLUMNS reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from learnsync.emulator.sftypes import ColumnRef, Declared


def _name(identifier: Any) -> str:
    """Snowflake's stored name of an identifier: unquoted names are upper-cased."""
    return identifier.this if identifier.quoted else identifier.this.upper()


def _table_key(table: Any, database: str, schema: str) -> tuple[str, str, str]:
    db = _name(table.args["catalog"]) if table.args.get("catalog") else database
    sch = _name(table.args["db"]) if table.args.get("db") else schema
    return db, sch, _name(table.this)


def _select_parts(select: Any) -> tuple[list[Any], list[Any]]:
    """The FROM and JOIN sources of a SELECT (sqlglot 30 names the arg `from_`)."""
    from_ = select.args.get("from_") or select.args.get("from")
    sources = [from_.this] if from_ is not None else []
    sources += [j.this for j in select.args.get("joins") or []]
    return sources, list(select.expressions)


class Resolver:
    """Follows a result column through aliases, subqueries and CTEs to the table column it reads, if bare."""

    def __init__(self, declared: Mapping[ColumnRef, Declared], database: str, schema: str) -> None:
        self.declared = declared
        self.database = database
        self.schema = schema

    def sources(self, select: Any, ctes: dict[str, Any]) -> dict[str, Any]:
        ctes = dict(ctes)
        with_ = select.args.get("with_") or select.args.get("with")
        for cte in with_.expressions if with_ is not None else []:
            ctes[_name(cte.args["alias"].this)] = cte.this
        found: dict[str, Any] = {}
        for src in _select_parts(select)[0]:
            alias = src.args.get("alias")
            if isinstance(src, exp.Table):
                name = _name(src.this)
                target: Any = ctes[name] if not src.args.get("db") and name in ctes else src
            elif isinstance(src, exp.Subquery):
                target = src.this
            else:
                continue
            key = _name(alias.this) if alias is not None and alias.this is not None else (
                _name(src.this) if isinstance(src, exp.Table) else None
            )
            if key is not None:
                found[key] = (target, ctes)
        return found

    def column(
        self, select: Any, ctes: dict[str, Any], column: str, qualifier: str | None, depth: int = 0
    ) -> ColumnRef | None:
        """The declared table column that `qualifier.column` of this SELECT's sources is, if any."""
        if depth > 16:
            return None
        sources = self.sources(select, ctes)
        candidates = [sources[qualifier]] if qualifier is not None and qualifier in sources else (
            [] if qualifier is not None else list(sources.values())
        )
        for target, scope_ctes in candidates:
            if isinstance(target, exp.Table):
                ref = ColumnRef(*_table_key(target, self.database, self.schema), column)
                if ref in self.declared:
                    return ref
            elif isinstance(target, exp.Select):
                ref = self.output(target, scope_ctes, column, depth + 1)
                if ref is not None:
                    return ref
        return None

    def output(self, select: Any, ctes: dict[str, Any], name: str, depth: int) -> ColumnRef | None:
        """The declared table column behind the output column `name` of a SELECT, if it is a bare reference."""
        for p in select.expressions:
            if _is_star(p):
                ref = self.column(select, ctes, name, _star_qualifier(p), depth)
                if ref is not None:
                    return ref
                continue
            inner = p.this if isinstance(p, exp.Alias) else p
            if isinstance(inner, exp.Column) and p.alias_or_name and _output_name(p) == name:
                return self.column(select, ctes, _name(inner.this), _qualifier(inner), depth)
        return None

    def result(self, sql: str, names: Sequence[str]) -> list[ColumnRef | None]:
        """For each result column (in order, named as the answer's rowtype names them): its declared source."""
        none: list[ColumnRef | None] = [None] * len(names)
        try:
            tree = sqlglot.parse_one(sql, read="snowflake")
        except SqlglotError:
            return none
        if not isinstance(tree, exp.Select):
            return none  # UNION and friends: what fakesnow answers
        projections = list(tree.expressions)
        stars = [i for i, p in enumerate(projections) if _is_star(p)]
        if len(stars) > 1:
            return none
        width = len(names) - (len(projections) - len(stars))
        if (not stars and width != 0) or (stars and width < 0):
            return none
        refs: list[ColumnRef | None] = []
        for p in projections:
            if _is_star(p):
                at = len(refs)
                refs.extend([self.column(tree, {}, names[at + k], _star_qualifier(p)) for k in range(width)])
                continue
            inner = p.this if isinstance(p, exp.Alias) else p
            bare = isinstance(inner, exp.Column)
            refs.append(self.column(tree, {}, _name(inner.this), _qualifier(inner)) if bare else None)
        return refs


def _is_star(p: Any) -> bool:
    return isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))


def _star_qualifier(p: Any) -> str | None:
    if isinstance(p, exp.Column) and p.args.get("table") is not None:
        return _name(p.args["table"])
    return None


def _qualifier(column: Any) -> str | None:
    return _name(column.args["table"]) if column.args.get("table") is not None else None


def _output_name(p: Any) -> str:
    if isinstance(p, exp.Alias):
        return _name(p.args["alias"])
    return _name(p.this)


def info_schema_columns(sql: str, database: str) -> tuple[str, dict[str, set[str]]] | None:
    """When the statement reads INFORMATION_SCHEMA.COLUMNS: its database, and the string literals its WHERE
    compares TABLE_SCHEMA and TABLE_NAME with (for answers that leave those columns out); else None."""
    if "INFORMATION_SCHEMA" not in sql.upper():
        return None
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except SqlglotError:
        return None
    for table in tree.find_all(exp.Table):
        if table.name.upper() == "COLUMNS" and table.db.upper() == "INFORMATION_SCHEMA":
            db = _name(table.args["catalog"]) if table.args.get("catalog") else database
            filters: dict[str, set[str]] = {}
            for eq in tree.find_all(exp.EQ):
                sides = (eq.this, eq.expression)
                for a, b in (sides, sides[::-1]):
                    if isinstance(a, exp.Column) and isinstance(b, exp.Literal) and b.is_string:
                        filters.setdefault(a.name.upper(), set()).add(b.this)
            return db, filters
    return None


def declared_data_types(table: pa.Table, declared: Mapping[ColumnRef, Declared], database: str,
                        filters: Mapping[str, set[str]]) -> pa.Table:
    """INFORMATION_SCHEMA.COLUMNS rows of declared columns with the declared base type in DATA_TYPE. A key the
    answer leaves out (TABLE_SCHEMA, TABLE_NAME) is taken from the WHERE's literals; without either, no row
    can be told apart and the answer stays as it is."""
    names = {n.upper(): i for i, n in enumerate(table.column_names)}
    if not {"COLUMN_NAME", "DATA_TYPE"} <= set(names) or ("TABLE_NAME" not in names and "TABLE_NAME" not in filters):
        return table
    data_type = table.column(names["DATA_TYPE"])
    keys = (("TABLE_CATALOG", "database"), ("TABLE_SCHEMA", "schema"), ("TABLE_NAME", "table"),
            ("COLUMN_NAME", "column"))
    for ref, d in declared.items():
        mask = None
        for key, attr in keys:
            value = getattr(ref, attr)
            if key in names:
                match = pc.equal(table.column(names[key]), value)
                mask = match if mask is None else pc.and_(mask, match)
            elif key == "TABLE_CATALOG" and value != database or key in filters and value not in filters[key]:
                break
        else:
            data_type = pc.if_else(mask, d.type.data_type, data_type)
    i = names["DATA_TYPE"]
    return table.set_column(i, table.schema.field(i), data_type)
