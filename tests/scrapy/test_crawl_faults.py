"""A real crawl (`copyright-guard crawl`, in a subprocess) against every fault of tests/faults.py at
once (issue 13): each origin ends with a decision that fails closed, within the deadline, and the
crawl's peak memory stays bounded (the subprocess's own peak RSS)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from copyright_guard.store.audit import Filters, search
from copyright_guard.store.db import connect

sys.path.insert(0, str(Path(__file__).parents[1]))
from faults import DEADLINE, EXPECTED, FAULTS, POLICY, FaultServer, run_measured  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

CLI = str(Path(sys.executable).with_name("copyright-guard"))
MAX_MB = 300


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl-faults")
    policy = tmp / "policy.toml"
    policy.write_text(POLICY)
    db = f"sqlite:///{tmp / 'audit.db'}"
    servers = {fault: FaultServer(fault, host=f"127.0.0.{60 + i}").start() for i, fault in enumerate(FAULTS)}
    page_bomb = FaultServer("gzip-gzip", path="/page", host="127.0.0.80").start()
    try:
        urls = [arg for s in (*servers.values(), page_bomb) for arg in ("--url", f"{s.origin}/")]
        result = run_measured([CLI, "crawl", "seeds", *urls, "--policy", str(policy), "--db", db, "--depth", "1",
                               "--json", "--progress", "0", "--log-level", "ERROR"], timeout=150, cwd=tmp)
    finally:
        for server in (*servers.values(), page_bomb):
            server.stop()
    engine = connect(db)
    result["decisions"] = list(search(engine, Filters(), newest_first=False))
    engine.dispose()
    result["origins"] = {fault: s.origin for fault, s in servers.items()}
    result["page_bomb"] = page_bomb
    return result


def test_the_crawl_finishes_in_bounded_memory(crawl):
    assert crawl["code"] == 0, crawl["stderr"][-3000:]
    assert "Traceback" not in crawl["stderr"], crawl["stderr"][-3000:]
    assert json.loads(crawl["stdout"])["finish_reason"] == "finished"
    assert crawl["peak_mb"] < MAX_MB
    # Every fault costs at most one deadline, and they run side by side: far below 11 deadlines.
    assert crawl["seconds"] < 60


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_ends_with_the_same_decision_as_check(crawl, fault):
    url = crawl["origins"][fault] + "/"
    [decision] = [d for d in crawl["decisions"] if d["url"] == url and d["stage"] == "pre-fetch"]
    verdict, code = EXPECTED[fault]
    assert decision["verdict"] == verdict, decision
    assert code in {r["code"] for r in decision["reasons"]}, decision


def test_a_stacked_bomb_page_is_not_collected(crawl):
    # Scrapy's decompression stops at DOWNLOAD_MAXSIZE (the add-on's page bound): no post-fetch allow.
    url = crawl["page_bomb"].origin + "/page"
    assert not [d for d in crawl["decisions"] if d["url"] == url and d["stage"] == "post-fetch"
                and d["verdict"] == "allow"]


def test_print_the_fault_table(crawl, capsys):
    """Not an assertion: the figures of docs/hardening.md (`pytest -s` shows them)."""
    with capsys.disabled():
        print(f"\ncrawl of all {len(FAULTS)} fault origins + a bomb page: {crawl['seconds']:.1f} s, "
              f"peak {crawl['peak_mb']:.0f} MB")
        for fault, origin in crawl["origins"].items():
            for d in crawl["decisions"]:
                if d["url"] == origin + "/" and d["stage"] == "pre-fetch":
                    print(f"| {fault} | {d['verdict']} | {', '.join(sorted({r['code'] for r in d['reasons']}))} |")


def test_the_reasons_name_the_fault(crawl):
    def detail(fault):
        url = crawl["origins"][fault] + "/"
        return " ".join(r["detail"] for d in crawl["decisions"] if d["url"] == url for r in d["reasons"])

    assert "decompression bomb guard" in detail("gzip-gzip")
    assert "decompression bomb guard" in detail("gzip-bomb")
    assert "3 stacked content codings" in detail("gzip-x3")
    assert "HTML document" in detail("html-200")
