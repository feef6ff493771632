"""The README's Scrapy lines work in a project made by `scrapy startproject`, outside this repository.

The test copies the settings block from README.md ("Use it in a Scrapy project") as it stands, so
the documented lines are the ones tested. Each crawl is a real `scrapy crawl` in a subprocess
against local origins (copyright_guard.demo.server).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from copyright_guard.demo.server import MultiOriginServer, Route

pytestmark = pytest.mark.slow  # a handful of real `scrapy crawl` runs (~2 s each)

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()

SPIDER = '''
import scrapy


class LocalSpider(scrapy.Spider):
    name = "local"

    def __init__(self, urls="", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = urls.split(",")

    def parse(self, response):
        yield {"url": response.url}
'''


def documented_settings() -> str:
    section = README.split("## Use it in a Scrapy project", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "README 'Use it in a Scrapy project' has no ```python block"
    return block.group(1)


def documented_init() -> list[str]:
    """The README's `copyright-guard init` line (the policy with the crawler's identity), as argv."""
    section = README.split("## Use it in a Scrapy project", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README 'Use it in a Scrapy project' has no ```sh block"
    [line] = [line for line in block.group(1).splitlines() if line.startswith("copyright-guard init ")]
    return shlex.split(line)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("fresh")
    subprocess.run([sys.executable, "-m", "scrapy", "startproject", "myproject"], cwd=root, check=True,
                   capture_output=True, timeout=60)
    directory = root / "myproject"
    command = documented_init()
    subprocess.run([str(Path(sys.executable).with_name(command[0])), *command[1:]], cwd=directory, check=True,
                   capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    settings = directory / "myproject" / "settings.py"
    settings.write_text(settings.read_text() + "\n" + documented_settings())
    (directory / "myproject" / "spiders" / "local.py").write_text(SPIDER)
    return directory


@pytest.fixture(scope="module")
def site():
    routes = {
        ("news", "/robots.txt"): Route.text("User-agent: *\nDisallow: /private/\n"),
        ("news", "/open"): Route.html("<html><head><title>open</title></head><body>free</body></html>"),
        ("news", "/private/x"): Route.html("<html><body>never requested</body></html>"),
        ("news", "/reserved"): Route.html("<html><body>reserved</body></html>", headers=[("tdm-reservation", "1")]),
    }
    with MultiOriginServer(routes) as server:
        yield server


def crawl(project: Path, urls: list[str], *settings: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "scrapy", "crawl", "local", "-a", "urls=" + ",".join(urls),
               "-O", "items.jsonl"]
    for setting in settings:
        command += ["-s", setting]
    env = {k: v for k, v in os.environ.items() if k != "COPYRIGHT_GUARD_DB"}
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def test_the_documented_lines_crawl_a_local_site(project, site):
    urls = [site.url("news", path) for path in ("/open", "/private/x", "/reserved")]
    done = crawl(project, urls)
    log = done.stderr
    assert done.returncode == 0, log[-3000:]
    items = [json.loads(line) for line in (project / "items.jsonl").read_text().splitlines()]
    assert [item["url"] for item in items] == [urls[0]]
    assert all(item["copyright_guard_decision_id"] for item in items)
    # Each denial is one INFO line: URL, stage, reason codes.
    assert f"INFO: copyright-guard: denied {urls[1]} (pre-fetch: robots.disallowed)" in log
    assert f"INFO: copyright-guard: denied {urls[2]} (post-fetch: tdmrep.reserved)" in log
    assert "/private/x" not in site.paths("news")  # never requested
    # The run log names the policy actually used; a new database is migrated without Alembic's INFO lines.
    assert "(policy policy.toml, sha256" in log  # the file `copyright-guard init` wrote
    assert "alembic" not in log.lower()
    assert (project / "copyright-guard.db").exists()


def test_denial_lines_can_be_turned_off(project, site):
    done = crawl(project, [site.url("news", "/private/x")], "COPYRIGHT_GUARD_LOG_DENIALS=False")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "copyright-guard: denied" not in done.stderr


@pytest.mark.parametrize(("setting", "message"), [
    ("COPYRIGHT_GUARD_PURPOSE=scraping", "COPYRIGHT_GUARD_PURPOSE: 'scraping' is not a purpose"),
    ("COPYRIGHT_GUARD_POLICY=policies/default.toml", "COPYRIGHT_GUARD_POLICY: policies/default.toml: "),
    ("USER_AGENT=Mozilla/5.0", "USER_AGENT: User-Agent 'Mozilla/5.0' does not contain the policy's product token"),
    ("COPYRIGHT_GUARD_GC_FREEZE=perhaps", "COPYRIGHT_GUARD_GC_FREEZE: expected True or False"),
])
def test_a_bad_setting_is_one_line_and_the_crawl_does_not_start(project, site, setting, message):
    done = crawl(project, [site.url("news", "/open")], setting)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and message in errors[0], done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "never retrieved" not in done.stderr
    assert "Spider opened" not in done.stderr


def test_an_unusable_audit_database_fails_the_crawl(project, site, tmp_path):
    bad = tmp_path / "not-a-database.db"
    bad.write_text("this is no SQLite file\n")
    done = crawl(project, [site.url("news", "/open")], f"COPYRIGHT_GUARD_DB={bad}")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "'finish_reason': 'copyright_guard_audit_unavailable'" in done.stderr
    assert "not an SQLite database" in done.stderr
