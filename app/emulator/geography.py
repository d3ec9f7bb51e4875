"""GeoJSON shapes as Snowflake prints GEOGRAPHY: keys in order, WKT, little-endian (E)WKB."""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

from learnsync.emulator.sftypes import WireError


def sorted_keys(value: Any) -> Any:
    """Snowflake prints a GeoJSON object's keys in order: "coordinates" before "type"."""
    if isinstance(value, dict):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


def _coord(x: Any) -> str:
    d = Decimal(str(x))
    return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")


def _wkt_points(points: Any) -> str:
    return ",".join(" ".join(_coord(c) for c in p) for p in points)


def wkt(shape: dict[str, Any], column: str) -> str:
    """Snowflake's WKT: `POINT(-122.35 37.55)`, no space after commas."""
    kind = shape.get("type")
    c: Any = shape.get("coordinates")  # nested lists, as deep as the type says
    if kind == "Point":
        return f"POINT({_wkt_points([c])})"
    if kind == "LineString":
        return f"LINESTRING({_wkt_points(c)})"
    if kind == "Polygon":
        return "POLYGON(" + ",".join(f"({_wkt_points(r)})" for r in c) + ")"
    if kind == "MultiPoint":
        return "MULTIPOINT(" + ",".join(f"({_wkt_points([p])})" for p in c) + ")"
    if kind == "MultiLineString":
        return "MULTILINESTRING(" + ",".join(f"({_wkt_points(line)})" for line in c) + ")"
    if kind == "MultiPolygon":
        return "MULTIPOLYGON(" + ",".join("(" + ",".join(f"({_wkt_points(r)})" for r in poly) + ")" for poly in c) + ")"
    if kind == "GeometryCollection":
        return "GEOMETRYCOLLECTION(" + ",".join(wkt(g, column) for g in shape.get("geometries", [])) + ")"
    raise WireError(f"column {column}: GeoJSON type {kind!r} is not emulated")


_WKB_TYPES = {"Point": 1, "LineString": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6,
              "GeometryCollection": 7}


def wkb(shape: dict[str, Any], column: str, srid: int | None = None) -> bytes:
    """Little-endian WKB (OGC 06-103r4); EWKB sets the SRID flag 0x20000000 and writes the SRID after the type."""
    kind = shape.get("type")
    c: Any = shape.get("coordinates")  # nested lists, as deep as the type says
    if kind not in _WKB_TYPES:
        raise WireError(f"column {column}: GeoJSON type {kind!r} is not emulated")
    code = _WKB_TYPES[kind]
    head = struct.pack("<BI", 1, code | 0x20000000) + struct.pack("<I", srid) if srid else struct.pack("<BI", 1, code)

    def points(ps: Any) -> bytes:
        return struct.pack("<I", len(ps)) + b"".join(struct.pack("<dd", float(p[0]), float(p[1])) for p in ps)

    if kind == "Point":
        return head + struct.pack("<dd", float(c[0]), float(c[1]))
    if kind == "LineString":
        return head + points(c)
    if kind == "Polygon":
        return head + struct.pack("<I", len(c)) + b"".join(points(r) for r in c)
    parts = shape.get("geometries", []) if kind == "GeometryCollection" else [
        {"type": kind[len("Multi"):], "coordinates": part} for part in c
    ]
    return head + struct.pack("<I", len(parts)) + b"".join(wkb(p, column) for p in parts)
