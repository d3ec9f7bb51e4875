"""The docs site's reference sections, generated at build time from the code so they cannot drift.

A page asks for one with a marker line, `<!-- generated: NAME [ARG] -->`, replaced before Markdown runs (mkdocs'
`on_page_markdown` hook): `cli` (every command and option, from the Typer app through click's introspection),
`vendor 360learning|datacamp` (the tables a sync of the vendor's documented model creates, from the catalog, with
a Mermaid diagram of their join keys), `dbt-models` (every model of the dbt package, from its YAML),
`settings TableSettings|FlowSettings` (every setting of the class in `learnsync.settings`, with its docstring) and
`api` (the Python API, `learnsync.__all__`: each function's signature and Google-style docstring, each type's
summary). An unknown marker fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

MARKER = re.compile(r"^<!-- generated: ([a-z0-9-]+)(?: ([A-Za-z0-9_-]+))? -->$", re.M)
ROOT = Path(__file__).resolve().parents[2]


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs hook: each marker replaced by its generated Markdown."""
    return MARKER.sub(lambda m: _generator(m[1])(m[2]), markdown)


def _generator(name: str) -> Callable[[Optional[str]], str]:
    generators: dict[str, Callable[[Optional[str]], str]] = {
        "cli": cli_reference, "vendor": vendor_tables, "dbt-models": dbt_models, "settings": settings_table,
        "api": api_reference,
    }
    if name not in generators:
        raise ValueError(f"unknown generated section {name!r}: use one of {sorted(generators)}")
    return generators[name]


def _cell(text: Any) -> str:
    """Text for a Markdown table cell: one line, no column breaks, no accidental emphasis or HTML."""
    text = " ".join(str(text).split())
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --- the command line -------------------------------------------------------------------------------------------

def cli_reference(_: Optional[str] = None) -> str:
    """Every command of `learnsync` with its usage, help and options, as the Typer app declares them."""
    import typer.main

    from learnsync.cli import app

    # Typer builds its commands on click's API (a copy of click it ships, typer._click): read them through that
    # API only, duck-typed, and make contexts with each command's own context_class
    group = typer.main.get_command(app)
    plain = _plain_text(markup=app.rich_markup_mode is not None)
    root = group.context_class(group, info_name="learnsync")
    return "\n".join(_command(group, root, plain, level=2, top=True))


def _command(command: Any, ctx: Any, plain: Callable[[str], str], level: int, top: bool = False) -> list[str]:
    out = [] if top else [f"{'#' * level} {ctx.command_path}", ""]
    if command.help:
        out += ["\n\n".join(_cell(p) for p in plain(command.help).split("\n\n")), ""]
    out += ["```", " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)]), "```", ""]
    rows = [row for p in command.get_params(ctx) if p.name != "help" and (row := _param(p, ctx, plain))]
    if rows:
        out += [_table(["option", "what it does"], rows), ""]
    for name in command.list_commands(ctx) if hasattr(command, "list_commands") else ():
        sub = command.get_command(ctx, name)
        out += _command(sub, sub.context_class(sub, info_name=name, parent=ctx), plain, level if top else level + 1)
    return out


def _plain_text(markup: bool) -> Callable[[str], str]:
    """Help text as plain paragraphs; Rich markup rendered away when the app reads its help as markup."""
    from rich.text import Text

    def plain(help_text: str) -> str:
        paragraphs = [" ".join(p.split()) for p in help_text.split("\n\n") if p.strip()]
        return "\n\n".join(Text.from_markup(p).plain if markup else p for p in paragraphs)

    return plain


def _param(param: Any, ctx: Any, plain: Callable[[str], str]) -> Optional[list[str]]:
    """One option as `--help` prints it: its names and metavar, its help, and the extras click appends (env var,
    default, range, required)."""
    record = param.get_help_record(ctx)
    if record is None:  # hidden
        return None
    names, help_text = record
    help_text, extras = _EXTRAS.match(help_text).groups()
    facts = dict(part.split(": ", 1) if ": " in part else ("", part) for part in (extras or "").split("; ") if part)
    notes = [f"environment `{facts.pop('env var')}`" if "env var" in facts else "",
             f"default `{facts.pop('default')}`" if "default" in facts else "",
             *(_cell(f"{k}: {v}" if k else v) for k, v in facts.items())]
    notes_line = "; ".join(n for n in notes if n)
    return [f"`{names}`", "<br>".join(x for x in (_cell(plain(help_text)), notes_line) if x)]


# click's own help line: the help text, then "  [env var: X; default: Y; x>=1; required]"
_EXTRAS = re.compile(r"^(.*?)(?:\s*\[([^\[\]]*)\])?$", re.S)


# --- the vendors' tables ----------------------------------------------------------------------------------------

def vendor_tables(vendor: Optional[str]) -> str:
    """The tables a sync of a vendor's documented model creates, with their keys, cursors and child tables, and a
    Mermaid diagram of how they join; the same tables `learnsync dbt-sources` describes without a destination."""
    from learnsync.catalog.tables import Profile
    from learnsync.pipelines.dbt_sources import catalog_tables

    tables = catalog_tables(Profile(vendor))
    parents = [t for t in tables if not t.get("references")]
    children = {p["name"]: [t for t in tables if t.get("references", [{}])[0].get("referenced_table") == p["name"]]
                for p in parents}
    dimensions = _dimensions(parents) if vendor == Profile.DATACAMP.value else {}
    out = ["## Tables and their join keys", "", _diagram(parents, children, dimensions), ""]
    out += [_summary(parents, children), ""]
    if dimensions:
        out += [_dimension_summary(dimensions), ""]
    out += ["## Columns", ""]
    for parent in parents:
        out += _columns(parent)
        for child in children[parent["name"]]:
            out += _columns(child, level=4)
    return "\n".join(out)


def _dimensions(facts: list[dict]) -> dict[str, tuple[str, list[str]]]:
    """DataCamp's dimensions: the join column each has (the fact tables' documentation names it) and the facts
    that carry that column."""
    from learnsync.catalog.naming import snake_case
    from learnsync.catalog.vendor_docs import DATACAMP_DIMENSION_JOINS

    return {snake_case(dim): (col, [f["name"] for f in facts if col in f["columns"]])
            for dim, col in DATACAMP_DIMENSION_JOINS.items()}


def _key(table: dict) -> list[str]:
    return [c for c, spec in table["columns"].items() if spec.get("primary_key")]


def _cursor(table: dict) -> Optional[str]:
    from learnsync.pipelines.source.resource import CURSOR_HINT

    return table.get(CURSOR_HINT)


def _day_key(table: dict) -> Optional[str]:
    """An event table's day column: its merge key (a child table's merge key is its parent's key instead)."""
    if table.get("references") or _key(table):
        return None
    return next((c for c, spec in table["columns"].items() if spec.get("merge_key")), None)


def _diagram(parents: list[dict], children: dict[str, list[dict]], dimensions: dict) -> str:
    # left to right: parents (and DataCamp's dimensions) in one column, what joins them in the next, so a page-wide
    # diagram stays readable however many tables a vendor has
    lines = ["```mermaid", "erDiagram", "  direction LR"]
    for parent in parents:
        for child in children[parent["name"]]:
            (ref,) = child["references"]
            on = " and ".join(f"{c} = {r}" for c, r in zip(ref["columns"], ref["referenced_columns"]))
            lines.append(f'  {parent["name"]} ||--o{{ {child["name"]} : "{on}"')
    for dim, (col, facts) in dimensions.items():
        for fact in facts:
            lines.append(f'  {dim} |o--o{{ {fact} : "{col}"')
    for parent in parents:
        lines += _entity(parent, {c: "PK" for c in _key(parent)}, dimensions)
        for child in children[parent["name"]]:
            lines += _entity(child, {c: "FK" for c in child["references"][0]["columns"]}, {})
    for dim, (col, _) in dimensions.items():
        lines += [f"  {dim} {{", f'    undocumented {col} "the fact tables join on it"', "  }"]
    lines.append("```")
    return "\n".join(lines)


def _entity(table: dict, keys: dict[str, str], dimensions: dict) -> list[str]:
    """A diagram box with the columns that join or order the table: keys, cursor, day, position, join columns."""
    joins = {col for col, _ in dimensions.values()}
    shown = [c for c in table["columns"]
             if c in keys or c == _cursor(table) or c == _day_key(table) or c == "position" or c in joins]
    lines = [f'  {table["name"]} {{']
    for name in shown:
        spec = table["columns"][name]
        note = "cursor" if name == _cursor(table) else "days replaced" if name == _day_key(table) else ""
        lines.append(f'    {spec.get("data_type", "json")} {name} {keys.get(name, "")}'.rstrip()
                     + (f' "{note}"' if note else ""))
    return lines + ["  }"]


def _summary(parents: list[dict], children: dict[str, list[dict]]) -> str:
    rows = []
    for table in parents:
        key, cursor, day = _key(table), _cursor(table), _day_key(table)
        loads = (f"merge on `{', '.join(key)}`" if key else
                 f"events: days replaced by `{day}`" if day else "replaced whole every run")
        kids = ", ".join(f"`{c['name']}`" for c in children[table["name"]])
        rows.append([f"[`{table['name']}`](#{table['name']})", loads, f"`{cursor}`" if cursor else "none", kids,
                     _cell(table.get("description", ""))])
    return _table(["table", "loads", "cursor", "child tables", "what it holds"], rows)


def _dimension_summary(dimensions: dict) -> str:
    rows = [[f"`{dim}`", f"`{col}`", ", ".join(f"`{f}`" for f in facts)] for dim, (col, facts) in dimensions.items()]
    return ("The dimensions are not documented by DataCamp: they are synced as the share declares them (key and "
            "cursor by convention, see [Profiles](../configuration.md#profiles)) and described from their names. "
            "The fact tables' documentation names the column each joins on:\n\n"
            + _table(["dimension", "joins on", "fact tables with that column"], rows))


def _columns(table: dict, level: int = 3) -> list[str]:
    rows = [[f"`{name}`", f"`{spec.get('data_type', '')}`", _cell(spec.get("description", ""))]
            for name, spec in table["columns"].items()]
    return [f"{'#' * level} {table['name']}", "", _cell(table.get("description", "")), "",
            _table(["column", "type", "description"], rows)]


# --- the dbt package --------------------------------------------------------------------------------------------

def dbt_models(_: Optional[str] = None) -> str:
    """Every model of the dbt package, folder by folder: how it is materialized, its columns, its description."""
    import yaml

    package = ROOT / "app" / "dbt"
    materialized = yaml.safe_load((package / "dbt_project.yml").read_text())["models"]["learnsync"]
    out = []
    for folder in sorted({p.parent for p in (package / "models").rglob("*.sql")}, key=_folder_order):
        documented = {m["name"]: m for y in folder.glob("*.yml")
                      for m in (yaml.safe_load(y.read_text()) or {}).get("models", [])}
        layer, vendor = folder.relative_to(package / "models").parts
        kind = materialized[layer]["+materialized"]
        rows = [[f"`{sql.stem}`", str(len(documented.get(sql.stem, {}).get("columns", []))),
                 _cell(documented.get(sql.stem, {}).get("description", ""))] for sql in sorted(folder.glob("*.sql"))]
        out += [f"### {layer.capitalize()}: {vendor} ({kind}s)", "", _table(["model", "columns", "description"], rows)]
    return "\n".join(out)


def _folder_order(folder: Path) -> tuple[int, str]:
    return (0 if folder.parent.name == "staging" else 1, folder.name)


# --- settings ---------------------------------------------------------------------------------------------------

def settings_table(name: Optional[str]) -> str:
    """Every field of a settings class of `learnsync.settings`: where it is set, its type, default and docstring."""
    import inspect

    from learnsync import settings

    cls = getattr(settings, name or "")
    where = {
        "TableSettings": lambda field: (f"`{field}`",
                                        f"`SOURCES__LEARNSYNC__TABLES__<TABLE>__{field.upper()}`"),
        "FlowSettings": lambda field: (f"`LEARNSYNC_{field.upper()}`", ""),
    }[cls.__name__]
    rows = []
    for field, annotation, default, doc in _fields(inspect.getsource(cls)):
        setting, env = where(field)
        # docstrings are written as Markdown (`code`): only what would break the table is escaped
        rows.append([setting, *([env] if env else []), f"`{annotation}`", f"`{default}`",
                     " ".join(doc.split()).replace("|", "\\|")])
    header = (["setting", "environment"] if cls.__name__ == "TableSettings" else ["environment"])
    return _table([*header, "type", "default", "what it does"], rows)


def _fields(source: str) -> list[tuple[str, str, str, str]]:
    """(name, annotation, default, docstring) of each annotated field of a class, in order: the attribute
    docstring is the string literal right after the field, as Python's docs tools read it."""
    import ast
    import textwrap

    source = textwrap.dedent(source)
    body = ast.parse(source).body[0].body
    fields = []
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            after = body[i + 1] if i + 1 < len(body) else None
            doc = (after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                   and isinstance(after.value.value, str) else "")
            fields.append((node.target.id, ast.get_source_segment(source, node.annotation),
                           ast.get_source_segment(source, node.value), doc))
    return [f for f in fields if not f[0].startswith("_") and f[0] != "model_config"]


# --- the Python API ---------------------------------------------------------------------------------------------

def api_reference(_: Optional[str] = None) -> str:
    """The names of `learnsync.__all__`: each function with its signature, its docstring's summary and its Args (a
    table with each parameter's type and default), Returns and Raises; then each type with its summary."""
    import inspect

    import learnsync

    values = {name: getattr(learnsync, name) for name in learnsync.__all__}
    functions = sorted((v for v in values.values() if inspect.isfunction(v)),
                       key=lambda f: inspect.getsourcelines(f)[1])
    out: list[str] = []
    for fn in functions:
        out += _api_function(fn)
    out += ["## Types", ""]
    for name, value in sorted((n, v) for n, v in values.items() if inspect.isclass(v)):
        summary = " ".join(inspect.getdoc(value).split("\n\n")[0].split())
        out += [f"### learnsync.{name}", "", f"`{value.__module__}.{name}`: {summary}", ""]
    return "\n".join(out)


def _api_function(fn: Any) -> list[str]:
    import inspect

    signature = inspect.signature(fn)
    annotations = fn.__annotations__  # as written (the module has `from __future__ import annotations`)
    bare = signature.replace(parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
                             return_annotation=signature.empty)
    summary, sections = _docstring(inspect.getdoc(fn))
    out = [f"## learnsync.{fn.__name__}", "", "```python",
           f"learnsync.{fn.__name__}{bare} -> {annotations['return']}", "```", "", summary, ""]
    args = _args(sections.get("Args", ""))
    rows = []
    for name, p in signature.parameters.items():
        default = "" if p.default is p.empty else f"`{p.default!r}`"
        rows.append([f"`{name}`", f"`{annotations[name]}`", default, args[name].replace("|", "\\|")])
    out += [_table(["argument", "type", "default", "what it is"], rows), ""]
    out += ["**Returns**: " + " ".join(sections["Returns"].split()), "", "**Raises**:", ""]
    out += [f"- `{name}`: {text}" for name, text in _args(sections["Raises"]).items()]
    return out + [""]


def _docstring(doc: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring's summary (the paragraphs before its first section) and its sections by name."""
    parts = re.split(r"^(Args|Returns|Raises):\n", doc, flags=re.M)
    summary = "\n\n".join(" ".join(p.split()) for p in parts[0].split("\n\n") if p.strip())
    return summary, dict(zip(parts[1::2], parts[2::2]))


def _args(section: str) -> dict[str, str]:
    """`name: text` entries of an Args or Raises section (text continued on more indented lines), one line each."""
    entries = re.split(r"^    (\w+): ", section, flags=re.M)
    return {name: " ".join(text.split()) for name, text in zip(entries[1::2], entries[2::2])}
