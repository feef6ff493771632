"""The crawler page for site owners: its JSON, the verification section, and a feed that says
what changed between policy versions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

from fastapi.testclient import TestClient
from portal_helpers import START

from copyright_guard.core.policy import load_policy, parse_policy
from copyright_guard.core.policy_changes import describe_changes
from copyright_guard.store.runs import record_policy
from copyright_guard.web.app import create_app
from copyright_guard.webbotauth import generate_key_file, signer_for_policy

TEST_POLICY = Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_json_says_who_we_are_what_we_collect_for_and_how_to_reach_us(client, policy):
    info = client.get("/crawler.json").json()
    assert info["product_token"] == policy.crawler.product_token and info["user_agent"] == policy.crawler.user_agent
    assert info["purpose"] == "train-ai" and info["contact_email"] == policy.complaints.contact_email
    assert info["policy"]["sha256"] == policy.hash
    assert info["politeness"]["obey_crawl_delay"] is True and info["politeness"]["max_crawl_delay_seconds"] == 60
    robots = info["opt_out"]["train-ai"]["snippets"][0]
    assert robots["text"] == f"User-agent: {policy.crawler.product_token}\nDisallow: /\n"


def test_a_signing_crawler_page_links_its_key_directory(tmp_path, engine):
    generate_key_file(tmp_path / "k.pem")
    text = TEST_POLICY.read_text().replace("[complaints]", 'signing_key = "k.pem"\nkey_directory = '
                                           '"https://crawler.test-operator.example/.well-known/'
                                           'http-message-signatures-directory"\n\n[complaints]')
    (tmp_path / "p.toml").write_text(text)
    policy = load_policy(tmp_path / "p.toml")
    signer = signer_for_policy(policy)
    with TestClient(create_app(engine, policy, signer=signer)) as client:
        html = client.get("/crawler").text
        info = client.get("/crawler.json").json()
    assert f'id="key-id">{signer.key_id}<' in html
    assert 'href="/.well-known/http-message-signatures-directory"' in html
    assert info["verification"]["key_id"] == signer.key_id and info["verification"]["tag"] == "web-bot-auth"


def test_changes_between_policy_versions_are_said_in_words():
    old = load_policy(TEST_POLICY)
    new = parse_policy(TEST_POLICY.read_text().replace('product_token = "CopyrightGuardBot"', 'product_token = "AcmeBot"')
                       .replace("CopyrightGuardBot/0.1", "AcmeBot/0.2")
                       + "\n[sources]\nai_txt = false\n\n[crawl]\nmax_crawl_delay_seconds = 30\n"
                       + '\n[purposes]\ndefault = "search"\n', "new.toml")
    lines = describe_changes(old, new)
    assert "The product token changed from CopyrightGuardBot to AcmeBot: robots.txt groups must now name AcmeBot." in lines
    assert "We no longer honour /ai.txt." in lines
    assert "The longest Crawl-delay we honour changed from 60 seconds to 30 seconds." in lines
    assert "The crawler now collects for search (was train-ai)." in lines
    assert describe_changes(old, parse_policy(TEST_POLICY.read_text() + "\n# a comment\n", "c.toml")) == []


def test_the_feed_has_one_entry_per_version_saying_what_changed(client, engine, policy):
    newer = parse_policy(policy.source_text.replace("tdmrep = true", "tdmrep = false"), "newer.toml")
    with engine.begin() as connection:
        record_policy(connection, policy, START)
        record_policy(connection, newer, START + timedelta(days=3))
    feed = ElementTree.fromstring(client.get("/crawler/feed.atom").content)
    latest, first = feed.findall(f"{ATOM}entry")
    assert latest.find(f"{ATOM}title").text.startswith("We no longer honour W3C TDMRep")
    assert newer.hash in latest.find(f"{ATOM}summary").text
    assert first.find(f"{ATOM}title").text.startswith("The crawler CopyrightGuardBot started collecting for train-ai")
    html = client.get("/crawler").text
    assert "We no longer honour W3C TDMRep" in html
