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


# --- the built site, opened in headless Chromium ----------------------------------------------------------------

import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urldefrag, urlsplit

import pytest

ENTITY = re.compile(r"^\s+(\w+) \{$", re.M)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as CI builds it: strict, with the generated reference sections."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def served(site):
    """The built site over HTTP on a free loopback port, as a reader's browser gets it."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through its chromedriver (never a downloaded one: no internet in CI)."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        message = "needs Debian's Chromium: apt-get install -y chromium chromium-driver"
        if os.environ.get("LEARNSYNC_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _shadow_svgs(driver) -> list[str]:
    """The text of every SVG that Material drew into a Mermaid host's shadow root. Material attaches the root
    closed, out of reach of page scripts and WebDriver; the DevTools protocol's DOM domain pierces it."""
    document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})["root"]

    def texts(node: dict) -> list[str]:
        own = [node["nodeValue"]] if node.get("nodeType") == 3 else []
        return own + [t for child in node.get("children", []) for t in texts(child)]

    def hosts(node: dict):
        attributes = node.get("attributes", [])
        classes = dict(zip(attributes[::2], attributes[1::2])).get("class", "").split()
        if node.get("localName") == "div" and "mermaid" in classes:
            for root in node.get("shadowRoots", []):
                if any(c.get("localName") == "svg" for c in root.get("children", [])):
                    yield " ".join(texts(root))
        for child in node.get("children", []):
            yield from hosts(child)

    return list(hosts(document))


def _all_drawn(driver, count: int) -> list[str] | None:
    svgs = _shadow_svgs(driver)
    return svgs if len(svgs) == count else None


def _diagrams(page: Path) -> list[str]:
    """The Mermaid sources a built page holds (Material draws them in the browser)."""
    import html

    return [html.unescape(re.sub(r"<[^>]+>", "", src))
            for src in re.findall(r'<pre class="mermaid"><code>(.*?)</code></pre>', page.read_text(), flags=re.S)]


@pytest.mark.slow  # mkdocs build and headless Chromium
def test_every_page_renders_offline_with_its_diagrams_and_every_internal_link_resolves(site, served, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    pages = sorted(p for p in site.rglob("index.html"))
    assert len(pages) >= 15, pages
    links: set[str] = set()
    diagrams = 0
    for page in pages:
        url = f"{served}/{page.parent.relative_to(site).as_posix()}/".replace("/./", "/")
        browser.get(url)
        sources = _diagrams(page)
        drawn = WebDriverWait(browser, 60).until(lambda d: _all_drawn(d, len(sources))) if sources else []
        for source, svg in zip(sources, drawn):
            assert "Syntax error" not in svg, (url, svg[:300])
            for entity in ENTITY.findall(source):  # every table of an erDiagram is drawn, by name
                assert entity in svg, (url, entity)
        diagrams += len(sources)
        assert browser.find_element("css selector", "article h1").text.strip(), url
        assert not browser.find_elements("css selector", "pre.mermaid"), f"{url}: a diagram left undrawn"
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, (url, errors)
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(name.startswith(served) for name in loaded), (url, [n for n in loaded if not n.startswith(served)])
        links |= set(browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)"))
    assert diagrams >= 3  # the flow on the home page and one per vendor

    internal = sorted(link for link in links if link.startswith(served))
    assert len(internal) > 50
    for link in internal:
        target, fragment = urldefrag(link)
        with urllib.request.urlopen(target) as response:
            assert response.status == 200, link
            body = response.read().decode()
        if fragment:
            assert f'id="{fragment}"' in body, link
    assert urlsplit(served).hostname == "127.0.0.1"


def test_the_reference_pages_are_generated_from_the_code(site):
    """Every command and option of the Typer app, every table a vendor sync creates and every dbt model has its
    place in the built site: the reference cannot drift from the code."""
    import typer.main

    from learnsync.cli import app
    from learnsync.catalog.tables import Profile
    from learnsync.pipelines.dbt_sources import catalog_tables

    cli = (site / "cli" / "index.html").read_text()
    group = typer.main.get_command(app)
    root = group.context_class(group, info_name="learnsync")
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        assert f'id="learnsync-{name}"' in cli, name
        ctx = command.context_class(command, info_name=name, parent=root)
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record and param.name != "help":
                assert f"<code>{record[0].replace('<', '&lt;').replace('>', '&gt;')}</code>" in cli, (name, record)
    for profile in (Profile.LEARNING_360, Profile.DATACAMP):
        page = (site / "vendors" / profile.value / "index.html").read_text()
        for table in catalog_tables(profile):
            assert f'id="{table["name"]}"' in page, (profile, table["name"])
            for column in table["columns"]:
                assert f"<code>{column}</code>" in page, (profile, table["name"], column)
    import dataclasses

    from learnsync.settings import FlowSettings, TableSettings

    configuration = (site / "configuration" / "index.html").read_text()
    for field in dataclasses.fields(TableSettings):
        if field.init and not field.name.startswith("_") and field.name in TableSettings.__annotations__:
            assert f"__{field.name.upper()}</code>" in configuration, field.name
    operations = (site / "operations" / "index.html").read_text()
    for name in FlowSettings.model_fields:
        assert f"<code>LEARNSYNC_{name.upper()}</code>" in operations, name
    dbt = (site / "dbt" / "index.html").read_text()
    for model in (ROOT / "app" / "dbt" / "models").rglob("*.sql"):
        assert f"<code>{model.stem}</code>" in dbt, model.stem


def test_the_python_api_page_is_generated_from_the_docstrings(site):
    """Every name of `learnsync.__all__` has its section on the Python API page, and every argument of each
    function its row: the page cannot drift from the code."""
    import inspect

    import learnsync

    page = (site / "python-api" / "index.html").read_text()
    for name in learnsync.__all__:
        assert f'id="learnsync{name.lower()}"' in page, name
        value = getattr(learnsync, name)
        if inspect.isfunction(value):
            for parameter in inspect.signature(value).parameters:
                assert f"<td><code>{parameter}</code></td>" in page, (name, parameter)
