"""The dbt package shipped in `learnsync/dbt`, and `learnsync dbt-project`: a ready-to-run project around it.

The package (staging models and marts for 360Learning Data Connect and DataCamp Data Connector 2.0) is plain dbt
files installed with learnsync; a project written here points at it from `packages.yml` (`local:`), sets the
vars that say where each vendor's tables were synced, and holds a `profiles.yml` for the destination. Nothing
here runs during a sync: dbt is an optional dependency (`pip install 'learnsync[dbt]'`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml

from learnsync.errors import LearnsyncError

PACKAGE_DIR = Path(__file__).resolve().with_name("dbt")
"""The dbt package: `local:` in a packages.yml, or `git: ... subdirectory: learnsync/dbt` from the repository."""
PROFILE = "learnsync"
DEFAULT_SCHEMA = "learnsync_dbt"
VENDORS = ("360learning", "datacamp")
# dbt phones home unless told not to (anonymous usage stats, version check)
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1", "DBT_VERSION_CHECK": "False"}


class Vendors(str, Enum):
    """Which vendors' models a project enables."""

    LEARNING_360 = "360learning"
    DATACAMP = "datacamp"
    BOTH = "both"

    @property
    def enabled(self) -> tuple[str, ...]:
        """The vendors ("360learning", "datacamp") whose models are built."""
        return VENDORS if self is Vendors.BOTH else (self.value,)


@dataclass(frozen=True)
class ProjectSpec:
    """What a generated project says: the vendors enabled, where their tables are, where models are built."""

    vendors: Vendors
    datasets: Mapping[str, str]
    """vendor ("360learning", "datacamp") -> the dataset (schema) `learnsync sync` loaded it into."""
    dest_uri: Optional[str] = None
    """learnsync's destination URI (None: learnsync's default DuckDB file); the models are built there too."""
    schema: str = DEFAULT_SCHEMA
    """Schema (BigQuery: dataset) the models are built in."""


VENDOR_NAMES = {"360learning": "360Learning", "datacamp": "DataCamp"}


def check_datasets(spec: ProjectSpec, flags: Mapping[str, str]) -> Optional[str]:
    """Check that each enabled vendor's dataset holds that vendor's tables in the destination, as `dbt build` will
    read them. Raises LearnsyncError naming the dataset, where the vendor's tables are, and the flag to set
    (`flags`: vendor -> the command-line flag of its dataset); returns a warning when the destination cannot be
    asked (unreachable), None when every dataset checked out."""
    from learnsync.destinations import dbt_output, resolve
    from learnsync.errors import DestinationUnreachable

    dbt_output(spec.dest_uri, spec.schema)  # a destination dbt cannot build in is refused before any connection
    target = resolve(spec.dest_uri, spec.datasets[spec.vendors.enabled[0]])
    if not target.exists():
        raise LearnsyncError(f"{target.display} does not exist: check --dest-uri (LEARNSYNC_DEST_URI), or run learnsync"
                             " sync first (--no-check writes the project before the first sync).")
    with tempfile.TemporaryDirectory(prefix="learnsync-dbt-check-") as pipelines_dir:  # nothing left behind
        try:
            for vendor in spec.vendors.enabled:
                _check_dataset(target, vendor, spec.datasets[vendor], flags[vendor], pipelines_dir)
        except DestinationUnreachable as exc:
            return f"the datasets were not checked ({exc}); dbt build fails if they are wrong."
    return None


def _vendor_tables(vendor: str) -> frozenset[str]:
    from learnsync.catalog.naming import snake_case
    from learnsync.catalog.tables import Profile, known_tables

    return frozenset(snake_case(t) for t in known_tables(Profile(vendor)))


def _check_dataset(target: Any, vendor: str, dataset: str, flag: str, pipelines_dir: str) -> None:
    from learnsync.pipelines.sync import learnsync_datasets, synced_tables

    wanted = _vendor_tables(vendor)
    if wanted & set(synced_tables(target, dataset, pipelines_dir)):
        return
    holders = [d for d in learnsync_datasets(target, pipelines_dir)
               if wanted & set(synced_tables(target, d, pipelines_dir))]
    name = VENDOR_NAMES[vendor]
    if holders:
        fix = f"they are in dataset {', '.join(holders)}: set {flag} {holders[0]}"
    else:
        fix = (f"no dataset there holds them: sync the {vendor} profile first, set {flag} to the dataset you synced it"
               " into, or pass --no-check to write the project before the first sync")
    raise LearnsyncError(f"Dataset {dataset!r} in {target.display} holds no {name} tables ({fix}).")


def project_files(spec: ProjectSpec) -> dict[str, str]:
    """The files of the project, path relative to the project folder -> text.

    Raises LearnsyncError when the destination URI is malformed or not one dbt can build in.
    """
    from learnsync.destinations import dbt_output

    output = dbt_output(spec.dest_uri, spec.schema)
    variables = {f"learnsync_{vendor}_schema": spec.datasets[vendor] for vendor in spec.vendors.enabled}
    project: dict[str, Any] = {
        "name": "learnsync_project",
        "version": "1.0",
        "config-version": 2,
        "profile": PROFILE,
        "flags": {"send_anonymous_usage_stats": False},
        # the package's vars, read by its models (see its dbt_project.yml for all of them)
        "vars": variables,
    }
    # a vendor not synced: its folders disabled here (dbt renders a package's own project file without vars)
    off = [v for v in VENDORS if v not in spec.vendors.enabled]
    if off:
        disabled = {v: {"+enabled": False} for v in off}
        project["models"] = {"learnsync": {"staging": disabled, "marts": disabled}}
        project["sources"] = {"learnsync": {"staging": disabled}}
        project["data_tests"] = {"learnsync": disabled}
    profiles = {PROFILE: {"target": "default", "outputs": {"default": output}}}
    return {
        "dbt_project.yml": _yaml(project, "A dbt project around the learnsync package; your own models go in models/."),
        "packages.yml": _yaml({"packages": [{"local": str(PACKAGE_DIR)}]},
                              "The learnsync package, as installed with learnsync (run `dbt deps` after upgrading)."),
        "profiles.yml": _yaml(profiles, "Where dbt builds: learnsync's destination. No secret is written here."),
        "models/.gitkeep": "",
    }


def _yaml(document: Any, comment: str) -> str:
    return f"# {comment}\n" + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def write_project(output: Path, spec: ProjectSpec, force: bool = False) -> list[Path]:
    """Write the project into `output` (created when missing); returns the files written.

    Raises LearnsyncError when `output` already holds a dbt project and `force` is false, or cannot be written.
    """
    files = project_files(spec)
    if (output / "dbt_project.yml").exists() and not force:
        raise LearnsyncError(f"{output} already holds a dbt project: pass --force to overwrite its files.")
    written = []
    try:
        for name, text in files.items():
            path = output / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise LearnsyncError(f"Cannot write the dbt project to {output}: {exc.strerror}.") from None
    return written


def run_dbt(project: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run dbt (this Python's `dbt.cli.main`) in `project`, profiles from the project folder; output captured.

    Raises LearnsyncError when dbt is not installed.
    """
    import importlib.util

    if importlib.util.find_spec("dbt.cli") is None:
        raise LearnsyncError("dbt is not installed: pip install 'learnsync[dbt]' (dbt-core with DuckDB and Postgres).")
    # runpy warns that `dbt.cli` imported `dbt.cli.main` before running it as __main__: harmless, and noise
    quiet = "ignore:'dbt.cli.main' found in sys.modules:RuntimeWarning"
    return subprocess.run(
        [sys.executable, "-W", quiet, "-m", "dbt.cli.main", *args, "--project-dir", str(project),
         "--profiles-dir", str(project)],
        cwd=project, capture_output=True, text=True, timeout=timeout, env={**os.environ, **DBT_ENV},
    )


def _check(proc: subprocess.CompletedProcess, what: str) -> None:
    """A failed dbt run as one line: its first error and its summary (the project is gone with its folder)."""
    if proc.returncode == 0:
        return
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in (proc.stdout + proc.stderr).splitlines()]
    lines = [re.sub(r"^\d\d:\d\d:\d\d\s+", "", ln) for ln in lines if ln]
    first = next((ln for ln in lines if re.search(r"\b(Error|ERROR|Failure)\b", ln)), lines[-1] if lines else "")
    done = next((ln for ln in reversed(lines) if ln.startswith("Done.")), "")
    raise LearnsyncError(f"dbt {what} failed: {first}" + (f" ({done})" if done and done != first else ""))


DEMO_DATASETS = {"360learning": "learning_360", "datacamp": "datacamp"}
"""The datasets `learnsync demo` syncs into."""


def build_package(
    duckdb_path: str | Path,
    datasets: Mapping[str, str] = DEMO_DATASETS,
    project_dir: Optional[Path] = None,
    select: Sequence[str] = (),
) -> str:
    """Build the dbt package (`dbt deps`, `dbt build`: every staging model and mart of both vendors with their
    tests, or only `select`'s) on a DuckDB file holding both vendors' datasets; models land in schema
    `learnsync_dbt` of the file. The project is written into `project_dir` (kept for the user to run dbt again;
    by default a temporary folder, removed). Returns dbt's summary line ("Done. PASS=.. WARN=.. ERROR=.. SKIP=..
    TOTAL=.."). Nothing else may hold the file open meanwhile. Raises LearnsyncError when dbt is missing,
    `project_dir` already holds a project, or the build fails (one line: dbt's first error and its summary)."""
    path = Path(duckdb_path).expanduser().resolve()
    spec = ProjectSpec(Vendors.BOTH, dict(datasets), f"duckdb:///{path}")
    with tempfile.TemporaryDirectory(prefix="learnsync-dbt-") as tmp:
        project = Path(project_dir) if project_dir is not None else Path(tmp)
        write_project(project, spec)
        _check(run_dbt(project, "deps"), "deps")
        built = run_dbt(project, "build", *select)
        _check(built, "build")
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in built.stdout.splitlines()]
    return next((ln[ln.index("Done."):].strip() for ln in reversed(lines) if "Done." in ln), "Done.")


def read_mart(duckdb_path: str | Path, mart: str, order_by: str, limit: int = 5) -> list[dict[str, Any]]:
    """The first `limit` rows of a model in schema `learnsync_dbt` of a DuckDB file, ordered by `order_by` (SQL),
    as {column: value} dicts."""
    import duckdb

    con = duckdb.connect(str(Path(duckdb_path).expanduser().resolve()), read_only=True)
    try:
        cur = con.execute(f'SELECT * FROM "{DEFAULT_SCHEMA}"."{mart}" ORDER BY {order_by} LIMIT {int(limit)}')
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()


def build_demo_mart(
    duckdb_path: str | Path,
    mart: str = "learning360__course_completion_funnel",
    order_by: str = "attempts desc, course_id",
    limit: int = 5,
    datasets: Mapping[str, str] = DEMO_DATASETS,
    project_dir: Optional[Path] = None,
    only_mart: bool = False,
) -> list[dict[str, Any]]:
    """`build_package` (with `only_mart`: only `mart`, the models it reads and their tests), then `read_mart`:
    the first `limit` rows of `mart` ordered by `order_by`. Raises what `build_package` raises."""
    # cautious: a test that also reads a model left out (a relationship to another table) is left out too
    only = ("--select", f"+{mart}", "--indirect-selection", "cautious") if only_mart else ()
    build_package(duckdb_path, datasets, project_dir, only)
    return read_mart(duckdb_path, mart, order_by, limit)


__all__: Sequence[str] = (
    "DEFAULT_SCHEMA", "PACKAGE_DIR", "ProjectSpec", "Vendors", "build_demo_mart", "build_package", "project_files",
    "read_mart", "run_dbt", "write_project",
)
