"""COPYRIGHT_GUARD_* settings are validated at start-up, and the add-on configures Scrapy."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from copyright_guard.scrapy import Addon, CopyrightGuardMiddleware, SettingsError
from copyright_guard.scrapy.addon import ACCESS_STATUSES
from copyright_guard.scrapy.settings import read_settings

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

USER_AGENT_MW = "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware"
DEFAULT_UA = "CopyrightGuardBot/0.1 (+https://crawler.test-operator.example/; crawler@test-operator.example)"


def _settings(**values) -> Settings:
    return Settings({"COPYRIGHT_GUARD_POLICY": TEST_POLICY, **values}, priority="project")


@pytest.mark.parametrize(("values", "words"), [
    ({"COPYRIGHT_GUARD_ENABLED": "maybe"}, ["COPYRIGHT_GUARD_ENABLED", "'maybe'"]),
    ({"COPYRIGHT_GUARD_POLICY": "/nonexistent/policy.toml"}, ["COPYRIGHT_GUARD_POLICY", "cannot read policy file"]),
    ({"COPYRIGHT_GUARD_PURPOSE": "scraping"}, ["COPYRIGHT_GUARD_PURPOSE", "'scraping'", "train-ai"]),
    ({"COPYRIGHT_GUARD_PROGRESS_INTERVAL": -1}, ["COPYRIGHT_GUARD_PROGRESS_INTERVAL", "at least 0"]),
    ({"COPYRIGHT_GUARD_PROGRESS_INTERVAL": "soon"}, ["COPYRIGHT_GUARD_PROGRESS_INTERVAL", "a number"]),
    ({"COPYRIGHT_GUARD_SITE_FILE_PRIORITY": True}, ["COPYRIGHT_GUARD_SITE_FILE_PRIORITY", "a number"]),
    ({"COPYRIGHT_GUARD_ITEM_FIELD": "decision id"}, ["COPYRIGHT_GUARD_ITEM_FIELD", "not a valid field name"]),
    ({"COPYRIGHT_GUARD_DB": 42}, ["COPYRIGHT_GUARD_DB", "a string"]),
])
def test_a_bad_setting_is_one_line_naming_it(values, words):
    with pytest.raises(SettingsError) as caught:
        read_settings(_settings(**values))
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_a_bad_policy_file_names_the_setting_and_the_key(tmp_path):
    policy = tmp_path / "mine.toml"
    policy.write_text("[crawler]\nproduct_tokn = 'X'\n")
    with pytest.raises(SettingsError, match=r"COPYRIGHT_GUARD_POLICY: .*mine.toml: unknown key 'crawler.product_tokn'"):
        read_settings(_settings(COPYRIGHT_GUARD_POLICY=str(policy)))


def test_the_bundled_default_policy_is_refused_for_its_placeholder_identity():
    # COPYRIGHT_GUARD_POLICY unset is the bundled default: a Scrapy project using the add-on
    # without its own policy must not crawl as everyone's CopyrightGuardBot with a fake contact.
    with pytest.raises(SettingsError) as caught:
        read_settings(Settings({}, priority="project"))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("COPYRIGHT_GUARD_POLICY: strict-default (bundled)")
    for words in ("[crawler] user_agent", "[complaints] contact_email", "[complaints] operator_name",
                  "copyright-guard init"):
        assert words in message
    with pytest.raises(SettingsError, match="placeholder identity"):
        get_crawler(settings_dict={"ADDONS": {Addon: 100}})


def test_defaults_are_the_policys_purpose_and_the_documented_settings():
    guard = read_settings(_settings())
    assert guard.policy.policy.name == "test-identity"
    assert guard.signer is None  # no [crawler] signing_key: requests are not signed
    assert guard.purpose == "train-ai"
    assert guard.db_url is None
    assert guard.item_field == "copyright_guard_decision_id"


def test_disabled_is_not_configured_and_the_addon_leaves_scrapy_alone():
    with pytest.raises(NotConfigured):
        read_settings(_settings(COPYRIGHT_GUARD_ENABLED=False))
    crawler = get_crawler(settings_dict={"ADDONS": {Addon: 100}, "COPYRIGHT_GUARD_ENABLED": False,
                                         "ROBOTSTXT_OBEY": True})
    assert crawler.settings.getbool("ROBOTSTXT_OBEY") is True
    assert CopyrightGuardMiddleware not in crawler.settings.getdict("DOWNLOADER_MIDDLEWARES")


def _addon_settings(**values) -> Settings:
    crawler = get_crawler(settings_dict={"ADDONS": {Addon: 100}, "COPYRIGHT_GUARD_POLICY": TEST_POLICY, **values})
    return crawler.settings


def test_the_addon_replaces_scrapys_robots_middleware_and_sets_the_user_agent():
    from copyright_guard.scrapy import AuditExtension, IdentityGuardMiddleware, ProvenanceMiddleware

    # A Scrapy project template sets ROBOTSTXT_OBEY = True: that must not bring the old middleware back.
    settings = _addon_settings(ROBOTSTXT_OBEY=True)
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares[CopyrightGuardMiddleware] == 100
    assert middlewares[IdentityGuardMiddleware] == 990
    enabled = build_component_list(settings.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES"))
    assert RobotsTxtMiddleware not in [load_object(path) for path in enabled]
    loaded = [load_object(path) for path in enabled]
    assert loaded.index(CopyrightGuardMiddleware) < loaded.index(load_object(USER_AGENT_MW)) < loaded.index(IdentityGuardMiddleware)
    assert settings.getbool("ROBOTSTXT_OBEY") is False
    assert ProvenanceMiddleware in settings.getdict("SPIDER_MIDDLEWARES")
    assert AuditExtension in settings.getdict("EXTENSIONS")
    assert settings["USER_AGENT"] == DEFAULT_UA


def test_a_user_agent_without_the_product_token_stops_the_crawl_at_start_up():
    with pytest.raises(SettingsError, match="USER_AGENT: User-Agent 'GPTBot/1.0' does not contain the policy's product token 'CopyrightGuardBot'"):
        _addon_settings(USER_AGENT="GPTBot/1.0")


def test_a_user_agent_naming_the_product_token_is_kept():
    settings = _addon_settings(USER_AGENT="CopyrightGuardBot/2.0 (research; ops@example.org)")
    assert settings["USER_AGENT"] == "CopyrightGuardBot/2.0 (research; ops@example.org)"


def test_access_restriction_statuses_are_never_retried():
    settings = _addon_settings(RETRY_HTTP_CODES=[500, 403, 503, 451, 429])
    assert settings.getlist("RETRY_HTTP_CODES") == [500, 503, 429]
    assert not ACCESS_STATUSES & set(settings.getlist("RETRY_HTTP_CODES"))


def test_bad_settings_fail_the_crawler_not_silently_disable_it():
    with pytest.raises(SettingsError, match="COPYRIGHT_GUARD_PURPOSE"):
        _addon_settings(COPYRIGHT_GUARD_PURPOSE="everything")
