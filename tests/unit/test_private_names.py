"""The emulator's modules talk through public names: none imports another module's underscore name, or reads one
off an imported module (`account._x`). Read from the source with `ast`, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "app" / "emulator"
PACKAGE = "learnsync.emulator"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_learnsync_module(dotted: str) -> bool:
    """A module of this package (a file or folder under app/emulator), not a name inside one."""
    if not dotted.startswith(PACKAGE + "."):
        return False
    rel = Path(*dotted[len(PACKAGE) + 1:].split("."))
    return (EMULATOR / rel).with_suffix(".py").is_file() or (EMULATOR / rel / "__init__.py").is_file()


def private_uses(source: str, module: str) -> list[str]:
    """`module`'s uses of another learnsync module's underscore names, as `line: what`."""
    tree = ast.parse(source)
    found: list[str] = []
    modules: dict[str, str] = {}  # a local name bound to a module of the emulator -> that module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{base}" if base else package
            if not base.startswith("learnsync"):
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{node.lineno}: from {base} import {alias.name}")
                elif _is_learnsync_module(f"{base}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name.startswith("learnsync"):
                    modules[alias.asname] = alias.name
                if any(_private(part) for part in alias.name.split(".")):
                    found.append(f"{node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and _private(node.attr)):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr} ({modules[node.value.id]})")
    return found


def _emulator_modules() -> dict[str, Path]:
    out = {}
    for path in sorted(EMULATOR.rglob("*.py")):
        parts = [p for p in path.relative_to(EMULATOR).with_suffix("").parts if p != "__init__"]
        out[".".join([PACKAGE, *parts])] = path
    return out


MODULES = _emulator_modules()


def test_the_emulator_is_cut_into_modules() -> None:
    assert {"learnsync.emulator.wire", "learnsync.emulator.server", "learnsync.emulator.fill"} <= set(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_names_between_emulator_modules(module: str) -> None:
    uses = private_uses(MODULES[module].read_text(), module)
    assert not uses, f"{module} uses other modules' private names (make them public there): {uses}"


def test_the_check_finds_what_it_looks_for() -> None:
    source = (
        "from learnsync.emulator.fill import _Fill, create_table\n"
        "from .wire import _parse_type as parse\n"
        "from learnsync.emulator import account\n"
        "import learnsync.emulator.wire as w\n"
        "def f():\n"
        "    from learnsync.emulator.columns import _hidden\n"
        "    return account._Types, w._Ref, account.check, w.__name__\n"
    )
    uses = private_uses(source, "learnsync.emulator.server")
    assert [u.split(": ", 1)[1] for u in uses] == [
        "from learnsync.emulator.fill import _Fill",
        "from learnsync.emulator.wire import _parse_type",
        "from learnsync.emulator.columns import _hidden",
        "account._Types (learnsync.emulator.account)",
        "w._Ref (learnsync.emulator.wire)",
    ]
