"""A result cut into chunks (the inline first one, the rest downloaded) and the store they are downloaded from."""

from __future__ import annotations

import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from learnsync.emulator.columns import Column
from learnsync.emulator.encoding import duck_sql
from learnsync.emulator.sessions import WireConfig

CHUNK_PATH = "/wire-chunks/"
# a chunk is kept this long after its first download: the connector re-downloads a chunk that arrived short
# (result_batch.MAX_INCOMPLETE_CHUNK_RETRY) or failed (MAX_DOWNLOAD_RETRY, with backoff), within seconds
AFTER_DOWNLOAD_TTL_S = 60.0


def chunk_bounds(rows: int, config: WireConfig) -> list[tuple[int, int]]:
    """Row ranges of the chunks: the inline first chunk, then chunk_rows each."""
    first = config.chunk_rows if config.first_chunk_rows is None else config.first_chunk_rows
    first = min(first, rows)
    bounds = [(0, first)]
    bounds += [(s, min(s + config.chunk_rows, rows)) for s in range(first, rows, config.chunk_rows)]
    return bounds


def ipc_stream(columns: Sequence[Column], start: int, stop: int) -> bytes:
    """Rows start..stop as one Arrow IPC stream, the body of an ARROW chunk."""
    arrays = [c.chunk(start, stop) for c in columns]
    schema = pa.schema([c.field(a) for c, a in zip(columns, arrays, strict=True)])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return sink.getvalue().to_pybytes()


def json_rows(columns: Sequence[Column]) -> pa.Array:
    """Each row as a JSON array of strings and nulls, the form of `data.rowset` and of JSON chunks."""
    texts = pa.table({f"c{i}": c.text() for i, c in enumerate(columns)})
    cells = ", ".join(f"coalesce(to_json(c{i}), 'null')" for i in range(len(columns)))
    return duck_sql(f"SELECT '[' || concat_ws(',', {cells}) || ']' AS r FROM t", t=texts).column(0).combine_chunks()


def joined_rows(rows: pa.Array, start: int, stop: int) -> str:
    """Rows start..stop of `json_rows` joined by commas, the body of a JSON chunk."""
    part = rows.slice(start, stop - start)
    return pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(part)], pa.int32()), part), ",")[0].as_py() or ""


@dataclass
class _Stored:
    body: bytes
    expires: float
    downloaded: bool = False


class ChunkStore:
    """Chunks waiting for download, bounded by bytes (least recently used go first) and by age."""

    def __init__(self, max_bytes: int, ttl: float) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._chunks: OrderedDict[str, _Stored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._evict(time.monotonic(), len(body))
            self._chunks[key] = _Stored(body, time.monotonic() + self.ttl)
            self._bytes += len(body)

    def get(self, key: str) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            self._evict(now, 0)
            stored = self._chunks.get(key)
            if stored is None:
                return None
            self._chunks.move_to_end(key)
            if not stored.downloaded:
                stored.downloaded = True
                stored.expires = min(stored.expires, now + AFTER_DOWNLOAD_TTL_S)
            return stored.body

    @property
    def bytes(self) -> int:
        return self._bytes

    def _evict(self, now: float, incoming: int) -> None:
        for key in [k for k, s in self._chunks.items() if s.expires <= now]:
            self._bytes -= len(self._chunks.pop(key).body)
        while self._chunks and self._bytes + incoming > self.max_bytes:
            self._bytes -= len(self._chunks.popitem(last=False)[1].body)


def gzip_chunk(body: bytes) -> bytes:
    """A chunk gzipped as the wire serves it (fast level, no timestamp)."""
    return gzip.compress(body, compresslevel=1, mtime=0)
