"""Dependencies say what the code imports: every package the code imports (read with `ast`, imports inside
functions too) is a requirement of the installed distribution (`importlib.metadata`), in the place where the code
needs it, and every base requirement is there for a reason."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = "learnsync.emulator"  # the `demo` extra's part (fakesnow's server); a production install lacks it
# packages only an optional path imports (inside the function that needs them), and the extra that brings each
OPTIONAL = {"prefect-dask": "dask", "prefect-snowflake": "prefect-snowflake", "google-api-core": "bigquery"}
# base requirements the code does not import itself, and who needs them
USED_INDIRECTLY = {
    "adbc-driver-postgresql": "dlt's Postgres parquet COPY job loads through it",
    "cryptography": "dlt.common.libs.cryptography decodes the key-pair login's PEM key with it",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package_dirs() -> dict[str, Path]:
    """Import package -> folder, from pyproject.toml's package-dir (the folders the wheel is built from)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {pkg: ROOT / folder for pkg, folder in setuptools["package-dir"].items()}


def _module_files() -> dict[str, Path]:
    dirs = _package_dirs()
    found: dict[str, Path] = {}
    for package, folder in dirs.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            found.setdefault(".".join([package, *parts]), path)
    return found


def _third_party_imports(path: Path) -> list[str]:
    """Every absolute import (dotted) outside the standard library and learnsync, inside functions too."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] not in sys.stdlib_module_names | {"learnsync", "__future__"}:
                out.append(name)
    return out


@cache
def _top_level_owners() -> dict[str, list[str]]:
    return md.packages_distributions()


@cache
def _distribution_of(module: str) -> str:
    """The installed distribution that holds `module` (its files, so namespace packages such as `snowflake` or
    `google` resolve to the distribution of the subpackage)."""
    candidates = sorted(set(_top_level_owners().get(module.split(".")[0], [])))
    assert candidates, f"{module} is imported but no installed distribution provides it"
    if len(candidates) == 1:
        return _norm(candidates[0])
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        stem = "/".join(parts[:depth])
        owners = sorted({
            d for d in candidates
            if any(str(f) in (f"{stem}.py", f"{stem}/__init__.py") or str(f).startswith(stem + "/")
                   for f in md.distribution(d).files or [])
        })
        if len(owners) == 1:
            return _norm(owners[0])
    raise AssertionError(f"{module}: more than one distribution provides it ({candidates})")


def _requirements() -> dict[str, set[str]]:
    """Distribution (normalized) -> the extras that require it ("" for the base requirements)."""
    out: dict[str, set[str]] = {}
    for line in md.requires("learnsync") or []:
        req = Requirement(line)
        extras = {e for e in md.metadata("learnsync").get_all("Provides-Extra") or []
                  if req.marker and req.marker.evaluate({"extra": e})}
        out.setdefault(_norm(req.name), set()).update(extras if req.marker else {""})
    return out


def _imports() -> list[tuple[str, str, str]]:
    """(module of learnsync, dotted import, its distribution) for the whole package."""
    return [(mod, name, _distribution_of(name))
            for mod, path in sorted(_module_files().items())
            for name in _third_party_imports(path)]


def test_the_installed_metadata_is_this_checkouts_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    base = {_norm(n) for n, extras in _requirements().items() if "" in extras}
    assert {_norm(Requirement(r).name) for r in declared} == base, "pyproject.toml changed: reinstall (pip install -e .)"


def test_every_imported_package_is_declared_where_the_code_needs_it() -> None:
    required = _requirements()
    missing = set()
    for module, name, dist in _imports():
        extras = required.get(dist, set())
        if module == EMULATOR or module.startswith(EMULATOR + "."):
            wanted = {"demo", "dev"}  # the emulator comes with the demo extra, and the tests (dev) run on it
        elif dist in OPTIONAL:
            wanted = {OPTIONAL[dist], "dev"}
        else:
            wanted = {""}  # a plain `pip install learnsync` runs it
        needed = set() if "" in extras else wanted - extras
        if needed:
            missing.add(f"{module} imports {name} ({dist}): not required by {sorted(needed)}")
    assert not missing, "\n".join(sorted(missing))


def test_every_base_requirement_is_imported_or_says_why() -> None:
    imported = {dist for _, _, dist in _imports()}
    base = {n for n, extras in _requirements().items() if "" in extras}
    assert base - imported == set(USED_INDIRECTLY), base - imported


def test_a_namespace_package_resolves_to_its_own_distribution() -> None:
    assert _distribution_of("snowflake.connector") == "snowflake-connector-python"
    assert _distribution_of("yaml") == "pyyaml"
