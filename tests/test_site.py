"""The README a newcomer reads and the docs site that holds the rest: short, and every link lands somewhere."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(markdown: str) -> set[str]:
    """The heading anchors GitHub and mkdocs' toc both make for plain-word headings."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_the_readme_is_short_and_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    first_blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)[:2]
    assert first_blocks == [
        "python3 -m venv .venv && .venv/bin/pip install '.[demo]' && .venv/bin/learnsync demo\n",
        ".venv/bin/pip install -c constraints.txt '.[dev]' && .venv/bin/python -m pytest -q -n 2\n",
    ]


def test_the_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    links = [link for link in LINK.findall(readme) if "://" not in link]
    assert links, "the README links to the docs"
    for link in links:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.is_file(), link
        if anchor:
            assert anchor in _anchors(target.read_text()), link
