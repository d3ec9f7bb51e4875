"""A Snowflake account's settings and limits, played by the realistic wire: what a session's parameters and
Snowflake's own rules change in a statement that fakesnow (DuckDB underneath) would otherwise run politely.

fakesnow ignores session parameters, renders `TO_VARCHAR(timestamp)` to the microsecond, divides integers in
floating point, caps no LISTAGG and takes statements of any size. A real account does none of that (Snowflake's
"parameters", "date-time input and output formats", "arithmetic operators", LISTAGG and "query size limits"
pages). `check` rewrites a statement, before fakesnow runs it, the way the session's parameters (its own, else
the account's `AccountSettings.parameters`) and those rules make Snowflake run it, or raises `Refused` with
Snowflake's error. `AccountSettings.strict()` is an account whose administrators changed what tools most often
forget to pin: every session that does not pin them gets them.

What is emulated, and how exactly:
- TIMESTAMP/DATE/TIME_INPUT_FORMAT: a string literal that is cast to, compared with or converted to a date or
  time must match the format (AUTO takes ISO forms); else "Timestamp '...' is not recognized".
- QUOTED_IDENTIFIERS_IGNORE_CASE = TRUE: a quoted identifier resolves upper-cased, so one with lower-case
  letters names an object that does not exist ("invalid identifier"); objects are assumed created with their
  names as written (so an upper-case name still resolves).
- *_OUTPUT_FORMAT: `TO_VARCHAR`/`TO_CHAR` of a timestamp or TIME column without a format keeps the digits of
  second the session's format prints (FF3: milliseconds; no FF: whole seconds); only the precision is played,
  not the pattern.
- integer division: `a / b` of integer operands is rounded to scale 6, as Snowflake's NUMBER division is.
- LISTAGG: a result longer than `listagg_max_bytes` fails ("String '(LISTAGG result)' is too long").
- statement size: a statement longer than `statement_max_bytes` is refused.
- `TO_NUMBER(text, 'XXX...')` (hexadecimal, up to 15 digits), which fakesnow cannot run, is run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

DEFAULT_PARAMETERS: dict[str, Any] = {
    "QUOTED_IDENTIFIERS_IGNORE_CASE": False,
    "TIMESTAMP_INPUT_FORMAT": "AUTO",
    "DATE_INPUT_FORMAT": "AUTO",
    "TIME_INPUT_FORMAT": "AUTO",
    "TIMESTAMP_OUTPUT_FORMAT": "YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM",
    "TIMESTAMP_NTZ_OUTPUT_FORMAT": "YYYY-MM-DD HH24:MI:SS.FF3",
    "TIMESTAMP_LTZ_OUTPUT_FORMAT": "",
    "TIMESTAMP_TZ_OUTPUT_FORMAT": "",
    "TIME_OUTPUT_FORMAT": "HH24:MI:SS",
    "DATE_OUTPUT_FORMAT": "YYYY-MM-DD",
    "BINARY_OUTPUT_FORMAT": "HEX",
    "STATEMENT_TIMEOUT_IN_SECONDS": 172800,
}
"""The session parameters the emulator tracks (besides the wire's own), at a new account's values."""

STRICT_PARAMETERS: dict[str, Any] = {
    "QUOTED_IDENTIFIERS_IGNORE_CASE": True,
    "TIMESTAMP_INPUT_FORMAT": "DD/MM/YYYY HH24:MI:SS",
    "DATE_INPUT_FORMAT": "DD/MM/YYYY",
    "TIME_INPUT_FORMAT": "HH12:MI:SS AM",
    "TIMESTAMP_OUTPUT_FORMAT": "DD/MM/YYYY HH24:MI:SS.FF3 TZH:TZM",
    "TIMESTAMP_NTZ_OUTPUT_FORMAT": "DD/MM/YYYY HH24:MI:SS.FF3",
    "TIMESTAMP_LTZ_OUTPUT_FORMAT": "DD/MM/YYYY HH24:MI:SS.FF3 TZH:TZM",
    "TIMESTAMP_TZ_OUTPUT_FORMAT": "DD/MM/YYYY HH24:MI:SS.FF3 TZH:TZM",
    "TIME_OUTPUT_FORMAT": "HH24:MI",
    "DATE_OUTPUT_FORMAT": "DD/MM/YYYY",
    "BINARY_OUTPUT_FORMAT": "BASE64",
}
"""What `AccountSettings.strict()` sets at account level: values real administrators choose."""


@dataclass(frozen=True)
class AccountSettings:
    """An account: its parameter values (those not given are a new account's) and Snowflake's limits."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    listagg_max_bytes: int = 16 * 2**20
    """LISTAGG's result cap: a VARCHAR's default maximum (16 MB); 128 MB at most on a real account."""
    statement_max_bytes: int = 2**20
    """The statement text Snowflake takes (its "query size limits" page advises staying under 1 MB)."""

    def __post_init__(self) -> None:
        unknown = set(self.parameters) - set(DEFAULT_PARAMETERS)
        if unknown:
            raise ValueError(f"the emulator does not track {sorted(unknown)}; it tracks {sorted(DEFAULT_PARAMETERS)}")

    @classmethod
    def strict(cls, **limits: Any) -> AccountSettings:
        """An account whose administrators changed the parameters tools most often leave unpinned."""
        return cls(dict(STRICT_PARAMETERS), **limits)

    @property
    def name(self) -> str:
        """`strict`, `new`, or `custom` (how `serve --account` names it)."""
        if dict(self.parameters) == STRICT_PARAMETERS:
            return "strict"
        return "custom" if self.parameters else "new"

    def values(self) -> dict[str, Any]:
        """Every tracked parameter at account level."""
        return {**DEFAULT_PARAMETERS, **self.parameters}


class Refused(Exception):
    """Snowflake would refuse the statement: its message, error code and SQL state."""

    def __init__(self, message: str, code: str, sql_state: str) -> None:
        super().__init__(message)
        self.code = code
        self.sql_state = sql_state


Columns = Callable[[str, str, str], Mapping[str, str]]
"""(database, schema, table) -> {column: the DuckDB type fakesnow stores it as}, empty for an unknown table."""

_DATE_LIKE = re.compile(r"'\d{4}-\d{1,2}-\d{1,2}|'\d{1,2}:\d{2}")
_TRIGGERS = re.compile(r"TO_VARCHAR|TO_CHAR|LISTAGG|TO_NUMBER|/", re.IGNORECASE)
_QUOTED_LOWER = re.compile(r'"[^"]*[a-z][^"]*"')


def check(sql: str, params: Mapping[str, Any], settings: AccountSettings, columns: Columns,
          database: str | None, schema: str | None) -> str:
    """The statement as this account runs it (`sql` itself when nothing changes), or Refused. `params` are the
    session's parameters in effect (the account's, overridden by the session's)."""
    if len(sql.encode()) > settings.statement_max_bytes:
        raise Refused(f"Statement of {len(sql.encode())} bytes exceeds the {settings.statement_max_bytes} bytes"
                      " this account takes", "001003", "42000")
    ignore_case = _true(params.get("QUOTED_IDENTIFIERS_IGNORE_CASE"))
    strict_input = any(str(params.get(f"{k}_INPUT_FORMAT", "AUTO")).upper() != "AUTO"
                       for k in ("TIMESTAMP", "DATE", "TIME"))
    wanted = ((ignore_case and _QUOTED_LOWER.search(sql)) or (strict_input and _DATE_LIKE.search(sql))
              or _TRIGGERS.search(sql))
    if not wanted or re.match(r"\s*(ALTER\s+SESSION|SHOW|USE|CREATE|DROP|INSERT|DESC)", sql, re.IGNORECASE):
        return sql
    try:
        tree = sqlglot.parse_one(sql, read="snowflake")
    except SqlglotError:
        return sql  # what fakesnow answers
    if tree is None:
        return sql
    if ignore_case:
        _check_identifiers(tree)
    if strict_input:
        _check_input_formats(tree, params)
    types = _Types(tree, columns, database or "", schema or "")
    changed = _round_integer_division(tree, types)
    changed |= _render_with_output_formats(tree, params, types)
    changed |= _cap_listagg(tree, settings.listagg_max_bytes)
    changed |= _hex_to_number(tree)
    return tree.sql(dialect="snowflake") if changed else sql


def show_parameters(params: Mapping[str, Any], session: Mapping[str, Any], account: Mapping[str, Any],
                    defaults: Mapping[str, Any]) -> list[list[Any]]:
    """SHOW PARAMETERS IN SESSION's rows (key, value, default, level, description, type) of the session's
    parameters in effect: level SESSION when the session set it, ACCOUNT when the account did."""
    rows = []
    for key in sorted(params):
        value, default = params[key], defaults.get(key, "")
        level = "SESSION" if key in session else "ACCOUNT" if account.get(key, default) != default else ""
        kind = "BOOLEAN" if isinstance(value, bool) else "NUMBER" if isinstance(value, int) else "STRING"
        rows.append([key, _text(value), _text(default), level, "", kind])
    return rows


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _true(value: Any) -> bool:
    return value is True or str(value).upper() in ("TRUE", "ON", "YES", "1")


# -- identifiers and input formats -------------------------------------------------------------------------------


def _check_identifiers(tree: exp.Expr) -> None:
    for ident in tree.find_all(exp.Identifier):
        if ident.quoted and ident.this != ident.this.upper():
            raise Refused(f"SQL compilation error: invalid identifier '\"{ident.this.upper()}\"'", "000904", "42000")


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
_TIME_TYPES = {exp.DataType.Type.DATE: "DATE", exp.DataType.Type.TIME: "TIME"}


def _check_input_formats(tree: exp.Expr, params: Mapping[str, Any]) -> None:
    """Each string literal Snowflake reads as a date or time must match the session's input format."""
    for literal in tree.find_all(exp.Literal):
        if not literal.is_string or not re.match(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}:\d{2}", literal.this):
            continue
        kind = _read_as(literal)
        if kind is None:
            continue
        fmt = str(params.get(f"{kind}_INPUT_FORMAT", "AUTO"))
        if fmt.upper() == "AUTO" or re.fullmatch(_format_regex(fmt), literal.this.strip(), re.IGNORECASE):
            continue
        word = {"TIMESTAMP": "Timestamp", "DATE": "Date", "TIME": "Time"}[kind]
        code = {"TIMESTAMP": "100035", "DATE": "100040", "TIME": "100108"}[kind]
        raise Refused(f"{word} '{literal.this}' is not recognized", code, "22007")


def _read_as(literal: exp.Literal) -> str | None:
    """TIMESTAMP, DATE or TIME when Snowflake converts this literal with an input format, else None."""
    parent = literal.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    if isinstance(parent, (exp.Cast, exp.TryCast)) and parent.this is literal:
        to = parent.to.this
        if to in _TIME_TYPES:
            return _TIME_TYPES[to]
        return "TIMESTAMP" if to in exp.DataType.TEMPORAL_TYPES else None
    if isinstance(parent, _COMPARISONS) or isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.In):
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", literal.this):
            return "TIME"
        return "DATE" if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", literal.this) else "TIMESTAMP"
    if isinstance(parent, (exp.StrToTime, exp.StrToDate, exp.TsOrDsToDate, exp.TsOrDsToTimestamp)) \
            and not parent.args.get("format"):
        return "DATE" if isinstance(parent, (exp.StrToDate, exp.TsOrDsToDate)) else "TIMESTAMP"
    return None


_FORMAT_ELEMENTS = [
    ("YYYY", r"\d{4}"), ("YY", r"\d{2}"), ("MMMM", r"[A-Za-z]+"), ("MON", r"[A-Za-z]{3}"), ("MM", r"\d{1,2}"),
    ("DD", r"\d{1,2}"), ("DY", r"[A-Za-z]{3}"), ("HH24", r"\d{1,2}"), ("HH12", r"\d{1,2}"), ("HH", r"\d{1,2}"),
    ("AM", r"[AP]M"), ("PM", r"[AP]M"), ("MI", r"\d{2}"), ("SS", r"\d{2}"), ("FF", r"\d{0,9}"),
    ("TZH", r"[+-]\d{2}"), ("TZM", r"\d{2}"), ("TZ", r"[A-Za-z_/]+"),
]


def _format_regex(fmt: str) -> str:
    """A Snowflake date/time format ('DD/MM/YYYY HH24:MI:SS') as a regular expression of the texts it reads."""
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == '"':
            end = fmt.find('"', i + 1)
            end = len(fmt) if end < 0 else end
            out.append(re.escape(fmt[i + 1:end]))
            i = end + 1
            continue
        for element, pattern in _FORMAT_ELEMENTS:
            if fmt[i:i + len(element)].upper() == element:
                i += len(element)
                if element == "FF" and i < len(fmt) and fmt[i].isdigit():
                    i += 1
                out.append(pattern)
                break
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "".join(out)


# -- types of columns --------------------------------------------------------------------------------------------


class _Types:
    """The DuckDB type of a column a statement names bare or qualified, looked up in the tables it reads."""

    def __init__(self, tree: exp.Expr, columns: Columns, database: str, schema: str) -> None:
        self.tables: dict[str, tuple[str, str, str]] = {}
        for table in tree.find_all(exp.Table):
            if not table.name:
                continue
            key = (_stored(table.args["catalog"]) if table.args.get("catalog") else database,
                   _stored(table.args["db"]) if table.args.get("db") else schema, _stored(table.this))
            self.tables.setdefault(_stored(table.args["alias"].this) if table.alias else key[2], key)
        self.columns = columns
        self.known: dict[tuple[str, str, str], Mapping[str, str]] = {}

    def of(self, node: exp.Expr) -> str | None:
        if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
            return None
        qualifier = _stored(node.args["table"]) if node.args.get("table") else None
        tables = [self.tables[qualifier]] if qualifier in self.tables else list(self.tables.values())
        for key in tables:
            if key not in self.known:
                self.known[key] = self.columns(*key)
            found = self.known[key].get(_stored(node.this))
            if found is not None:
                return found.upper()
        return None


def _stored(identifier: Any) -> str:
    """The stored name of an identifier: unquoted names are upper-cased."""
    if isinstance(identifier, exp.Identifier):
        return identifier.this if identifier.quoted else identifier.this.upper()
    return str(identifier.name if hasattr(identifier, "name") else identifier).upper()


_INTEGER_FUNCTIONS = (exp.Count, exp.Length, exp.DateDiff, exp.TimestampDiff, exp.Floor, exp.Ceil, exp.Sign)
_INTEGER_DUCK = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U?INT\d*|DECIMAL\(\d+,\s*0\))$")


def _integer(node: exp.Expr, types: _Types) -> bool:
    """Whether Snowflake types this expression as an integer NUMBER (scale 0), as far as can be told."""
    if isinstance(node, exp.Paren):
        return _integer(node.this, types)
    if isinstance(node, exp.Literal):
        return not node.is_string and re.fullmatch(r"-?\d+", node.this) is not None
    if isinstance(node, exp.Neg):
        return _integer(node.this, types)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Mod)):
        return _integer(node.this, types) and _integer(node.expression, types)
    if isinstance(node, exp.Extract):
        return True  # DATE_PART / EXTRACT answer integers
    if isinstance(node, exp.Round):
        return node.args.get("decimals") is None
    if isinstance(node, _INTEGER_FUNCTIONS):
        return True
    if isinstance(node, exp.Column):
        found = types.of(node)
        return found is not None and _INTEGER_DUCK.match(found) is not None
    return False


def _round_integer_division(tree: exp.Expr, types: _Types) -> bool:
    """`a / b` of integers -> ROUND(a / b, 6): Snowflake's result has scale 6, rounded (fakesnow divides in
    floating point, so FLOOR(3599999999 / 3600000000) would be 0 instead of Snowflake's 1)."""
    changed = False
    for div in list(tree.find_all(exp.Div)):
        if _integer(div.this, types) and _integer(div.expression, types):
            div.replace(exp.Round(this=div.copy(), decimals=exp.Literal.number(6)))
            changed = True
    return changed


def _digits(fmt: str) -> int:
    """Digits of second a date/time output format prints: FF<n> -> n, FF -> 9, none -> 0."""
    found = re.search(r"FF(\d?)", fmt.upper())
    if found is None:
        return 0
    return int(found.group(1)) if found.group(1) else 9


def _output_format(duck_type: str, params: Mapping[str, Any]) -> str | None:
    if duck_type == "TIME":
        return str(params.get("TIME_OUTPUT_FORMAT") or "")
    if duck_type.startswith("TIMESTAMP"):
        specific = "TIMESTAMP_TZ_OUTPUT_FORMAT" if "TIME ZONE" in duck_type else "TIMESTAMP_NTZ_OUTPUT_FORMAT"
        return str(params.get(specific) or params.get("TIMESTAMP_OUTPUT_FORMAT") or "")
    return None


def _render_with_output_formats(tree: exp.Expr, params: Mapping[str, Any], types: _Types) -> bool:
    """TO_VARCHAR(column) of a timestamp or TIME without a format keeps only the digits of second the session's
    output format prints (fakesnow prints every microsecond)."""
    changed = False
    for call in list(tree.find_all(exp.ToChar)):
        if call.args.get("format") is not None:
            continue
        found = types.of(call.this)
        fmt = _output_format(found, params) if found else None
        digits = _digits(fmt) if fmt is not None else 9
        if digits >= 6:
            continue
        value = call.this.copy()
        if found == "TIME":
            kept = exp.func("TIME_FROM_PARTS", exp.func("HOUR", value.copy()), exp.func("MINUTE", value.copy()),
                            exp.func("SECOND", value.copy()))
        else:
            unit = "second" if digits == 0 else "millisecond" if digits <= 3 else "microsecond"
            kept = exp.func("DATE_TRUNC", exp.Literal.string(unit), value)
        call.set("this", kept)
        changed = True
    return changed


def _cap_listagg(tree: exp.Expr, cap: int) -> bool:
    """LISTAGG whose result would pass `cap` bytes fails, as Snowflake's does."""
    changed = False
    for agg in list(tree.find_all(exp.GroupConcat)):
        if agg.meta.get("capped"):
            continue
        value = agg.this.this if isinstance(agg.this, exp.Order) else agg.this
        sep = agg.args.get("separator")
        sep_len = len(sep.this) if isinstance(sep, exp.Literal) else 0
        size = exp.func("SUM", exp.func("LENGTH", value.copy()))
        if sep_len:
            count = exp.Sub(this=exp.func("COUNT", exp.Star()), expression=exp.Literal.number(1))
            size = exp.Add(this=size, expression=exp.Mul(this=exp.Literal.number(sep_len), expression=count))
        # a failing cast, which fakesnow answers as a failed query (an ERROR() would be an HTTP 500, which the
        # connector retries); COUNT(*) keeps DuckDB from folding it where no group is too long
        message = exp.DPipe(this=exp.Literal.string("String '(LISTAGG result)' is too long and would be truncated"
                                                    " (rows: "), expression=exp.func("COUNT", exp.Star()))
        fail = exp.func("TO_VARCHAR", exp.Cast(this=message, to=exp.DataType.build("INT")))
        copy = agg.copy()
        copy.meta["capped"] = True
        agg.replace(exp.Case(ifs=[exp.If(this=exp.GT(this=size, expression=exp.Literal.number(cap)), true=fail)],
                             default=copy))
        changed = True
    return changed


def _hex_to_number(tree: exp.Expr) -> bool:
    """TO_NUMBER(text, 'XX...X') of up to 15 hexadecimal digits, which fakesnow refuses: as a 0x-prefixed cast."""
    changed = False
    for call in list(tree.find_all(exp.ToNumber)):
        fmt = call.args.get("format")
        if isinstance(fmt, exp.Literal) and re.fullmatch(r"X{1,15}", fmt.this.upper()):
            text = exp.DPipe(this=exp.Literal.string("0x"), expression=call.this.copy())
            call.replace(exp.Cast(this=exp.Paren(this=text), to=exp.DataType.build("BIGINT")))
            changed = True
    return changed
