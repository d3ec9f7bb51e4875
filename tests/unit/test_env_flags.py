"""The README says which flags read `LEARNSYNC_<NAME>`: exactly those of the Typer app, on every command that has
them, each from the variable its name gives (`--dest-uri` -> LEARNSYNC_DEST_URI)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import typer

from learnsync.cli import app

ROOT = Path(__file__).resolve().parents[2]
NO_ENV = {("demo", "--dest-uri")}  # the demo never writes where an exported LEARNSYNC_DEST_URI points
OWN_CHOICE = {("backfill", "--tables")}  # a backfill names its tables each time: an exported LEARNSYNC_TABLES is sync's


def _options() -> Iterator[tuple[str, str, Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str, Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
            return
        for param in command.params:
            if param.opts and param.opts[0].startswith("--") and param.opts[0] != "--help":
                yield " ".join(path), param.opts[0], param.envvar

    yield from walk(typer.main.get_command(app), ())


def _readme_flags() -> set[str]:
    text = " ".join((ROOT / "README.md").read_text().split())
    sentence = re.search(r"Flags that configure a connection or a run also read `LEARNSYNC_<NAME>`: (.*?)\.", text)
    assert sentence, "the README says which flags read LEARNSYNC_<NAME>"
    return set(re.findall(r"`(--[a-z0-9-]+)`", sentence[1]))


def test_the_readme_names_the_flags_that_read_the_environment() -> None:
    named = _readme_flags()
    with_env = {flag for _, flag, env in _options() if env}
    assert named == with_env
    for command, flag, env in _options():
        if flag in named and (command, flag) not in NO_ENV | OWN_CHOICE:
            assert env == "LEARNSYNC_" + flag[2:].upper().replace("-", "_"), (command, flag, env)
        if (command, flag) in NO_ENV | OWN_CHOICE:
            assert env is None, (command, flag, env)
