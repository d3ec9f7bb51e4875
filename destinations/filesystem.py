"""Plain Parquet files: `file:///abs/folder` or `file:///./rel` -> `<folder>/<dataset>/<table>/*.parquet`.

dlt writes plain files by appending or replacing them; merging or deleting rows needs a table format
(delta/iceberg, with the `upsert` strategy only, not the delete-insert this sync relies on), so every sync
rewrites each table whole from the share: always complete and correct, never incremental (`merges=False`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import SplitResult

from learnsync.destinations.base import Kind, Target, identity, local_path
from learnsync.destinations.locks import file_lock
from learnsync.errors import LearnsyncError


def target(parts: SplitResult, dataset: str, options: dict[str, Any]) -> Target:
    """The folder of the URI; its parent must exist (a LearnsyncError says so)."""
    import dlt

    raw = local_path(parts)
    if not raw.strip("/"):
        raise LearnsyncError("The file URI needs a folder: file:///path/to/folder (or file:///./folder).")
    folder = Path(raw).expanduser().resolve()
    if not folder.parent.is_dir():
        raise LearnsyncError(f"The parent of the destination folder does not exist: {folder.parent}. Create it first.")
    return Target(
        destination=dlt.destinations.filesystem(bucket_url=folder.as_uri()),
        identity="file-" + identity(str(folder)),
        display=folder.as_uri(),
        run_options={"loader_file_format": "parquet"},
        lock=file_lock(folder / ".learnsync-locks"),
        merges=False,
        datasets=None,
    )


KIND = Kind(("file",), target)
