"""The architecture as a test: every import inside learnsync points down the layers, and no modules import each
other in a circle. Read from the source with `ast` (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the repository folders the package is installed from (pyproject.toml's package-dir)
PACKAGE_DIRS = {"learnsync": ROOT / "app", "learnsync.catalog": ROOT / "catalog",
                "learnsync.pipelines": ROOT / "pipelines", "learnsync.destinations": ROOT / "destinations",
                "learnsync.flows": ROOT / "flows"}

# lowest first; a module may import its own layer and those below it, never one above
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("errors and settings", ("learnsync", "learnsync.errors", "learnsync.settings", "learnsync.pipelines",
                             "learnsync.pipelines.stages", "learnsync.pipelines.values")),
    ("catalog", ("learnsync.catalog",)),
    ("Snowflake reading", ("learnsync.pipelines.snowflake",)),
    ("dlt source", ("learnsync.pipelines.source",)),
    ("destinations", ("learnsync.destinations",)),
    ("engine", ("learnsync.pipelines.sync", "learnsync.pipelines.drift", "learnsync.pipelines.descriptions",
                "learnsync.pipelines.status", "learnsync.pipelines.reconcile", "learnsync.pipelines.dbt_sources",
                "learnsync.pipelines.history", "learnsync.pipelines.runs", "learnsync.pipelines.lookback",
                "learnsync.pipelines.backfill", "learnsync.pipelines.upgrade")),
    ("emulator", ("learnsync.emulator",)),
    ("flows, CLI, demo", ("learnsync.flows", "learnsync.cli", "learnsync.console", "learnsync.demo",
                          "learnsync.dbt_project", "learnsync.check", "learnsync.api")),
)
# the package module itself (app/__init__.py) declares the Python API: it names entry points of the top layer
# (imported on first use), so it sits there; "learnsync" above is the layer of the package's other modules
# (learnsync.defaults), and any module may import the package (`learnsync.__version__`)
PACKAGE_LAYER = len(LAYERS) - 1


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "learnsync" and f"learnsync.{parts[0] if parts else ''}" in PACKAGE_DIRS:
                continue  # not under app/
            found[name] = path
    return found


def _layer(module: str) -> int:
    if module == "learnsync":
        return PACKAGE_LAYER
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank >= 0, f"{module} is in no layer: add it to LAYERS"
    return rank


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative imports
                pkg = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rsplit(".", 1)[0]
                base = f"{pkg}.{node.module}"
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            # the most specific learnsync module the import names
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("learnsync") and name != module:
                out.add(name)
    return out


MODULES = _modules()
GRAPH = {m: _imports(m, p, set(MODULES)) for m, p in MODULES.items()}


def test_every_module_is_in_a_layer() -> None:
    assert len(MODULES) > 30
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    own = _layer(module)
    upward = {m: LAYERS[_layer(m)][0] for m in GRAPH[module]
              if _layer(m) > own and not (m == "learnsync" or module.startswith(m + "."))}
    assert not upward, f"{module} ({LAYERS[own][0]}) imports a higher layer: {upward}"


# the folders the package is installed from, and the folders each may import (besides app/'s base modules,
# which LAYERS orders): the engine (pipelines/) and the destinations both stand on the catalog, and the
# destinations never import the engine's folder, so the two never import each other
FOLDER_IMPORTS = {
    "learnsync.catalog": (),
    "learnsync.destinations": ("learnsync.catalog",),
    "learnsync.pipelines": ("learnsync.catalog", "learnsync.destinations"),
    "learnsync.flows": ("learnsync.catalog", "learnsync.destinations", "learnsync.pipelines"),
}


def _folder(module: str) -> str | None:
    return next((f for f in FOLDER_IMPORTS if module == f or module.startswith(f + ".")), None)


def test_every_folder_has_its_imports_listed() -> None:
    assert set(FOLDER_IMPORTS) == set(PACKAGE_DIRS) - {"learnsync"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _folder(m)))
def test_folders_import_one_way(module: str) -> None:
    own = _folder(module)
    others = {m for m in GRAPH[module] if _folder(m) not in (None, own)}
    wrong = sorted(m for m in others if _folder(m) not in FOLDER_IMPORTS[own])
    assert not wrong, f"{module} ({own}) imports another folder's modules it must not: {wrong}"


def test_no_import_cycles() -> None:
    # a package's __init__ re-exporting its own modules is not a cycle of the architecture
    def edges(m: str) -> set[str]:
        return {n for n in GRAPH[m] if not (n.startswith(m + ".") or m.startswith(n + "."))}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges(m)):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m)


def test_production_code_never_imports_the_emulator_or_fakesnow() -> None:
    """The emulator ships behind the demo extra: only the demo may import it (and it says how to install it)."""
    for module, path in MODULES.items():
        if module.startswith("learnsync.emulator") or module == "learnsync.demo":
            continue
        text = path.read_text()
        assert "fakesnow" not in text.replace("# fakesnow", ""), module
        assert "learnsync.emulator" not in GRAPH[module] and not any(
            m.startswith("learnsync.emulator") for m in GRAPH[module]), module
