"""The declared Python API (`learnsync/__init__.py`): its names pinned, each one resolving, typed and documented
in Google style (Args/Returns/Raises, every parameter named). That importing it loads no engine:
tests/unit/test_cold_start.py."""

from __future__ import annotations

import inspect
import re
import typing

import pytest

import learnsync

API = ["FlowSettings", "HistorySettings", "LearnsyncError", "Profile", "ReconcileResult", "ShareCredentials",
       "TableResult", "TableSettings", "TableSpec", "backfill", "plan", "reconcile", "sync"]
FUNCTIONS = ["backfill", "plan", "reconcile", "sync"]


def test_all_is_pinned() -> None:
    assert sorted(learnsync.__all__) == API
    assert learnsync.__version__ == "0.1.0"  # pyproject.toml reads it (dynamic version)
    assert set(API) <= set(dir(learnsync))


@pytest.mark.parametrize("name", API)
def test_each_name_resolves_and_is_documented(name: str) -> None:
    value = getattr(learnsync, name)
    assert getattr(value, "__module__", "").startswith("learnsync."), value
    assert inspect.getdoc(value), f"learnsync.{name} has no docstring"
    scope: dict = {}
    exec(f"from learnsync import {name} as imported", {}, scope)  # through the package's __getattr__
    assert scope["imported"] is value


def _sections(doc: str) -> dict[str, str]:
    """Google-style sections of a docstring: {"Args": text, "Returns": text, ...}."""
    parts = re.split(r"^(Args|Returns|Raises):\n", doc, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_entry_points_are_typed_with_args_returns_raises(name: str) -> None:
    fn = getattr(learnsync, name)
    doc = inspect.getdoc(fn)
    sections = _sections(doc)
    assert {"Args", "Returns", "Raises"} <= set(sections), f"{name}: {sorted(sections)}"
    documented = re.findall(r"^    (\w+): ", sections["Args"], flags=re.M)
    params = list(inspect.signature(fn).parameters)
    assert documented == params, f"{name}: Args {documented} against parameters {params}"
    assert "LearnsyncError" in sections["Raises"]
    hints = typing.get_type_hints(fn)
    assert set(params) | {"return"} <= set(hints), f"{name}: untyped {set(params) | {'return'} - set(hints)}"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'synk'"):
        learnsync.synk  # noqa: B018



def test_open_share_without_a_source_does_what_its_docstring_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """None is refused with "No source given" even with LEARNSYNC_SOURCE_URI set (the CLI reads that variable,
    not the library), and the docstring says so instead of promising the variable."""
    from learnsync.errors import LearnsyncError
    from learnsync.pipelines.snowflake.reader import open_share

    monkeypatch.setenv("LEARNSYNC_SOURCE_URI", "snowflake://u@acct/DB/S?host=127.0.0.1&port=9&protocol=http")
    with pytest.raises(LearnsyncError, match="No source given"):
        with open_share(None):
            pass
    doc = " ".join((open_share.__doc__ or "").split())
    assert "None: LEARNSYNC_SOURCE_URI" not in doc and "None is a LearnsyncError too" in doc, doc
