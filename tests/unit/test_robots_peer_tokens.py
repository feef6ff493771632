"""The bundled peer AI-training crawler tokens are exactly what scripts/derive_peer_tokens.py derives."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from copyright_guard.core.policy import PRODUCT_TOKEN_RE, default_peer_tokens

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("derive_peer_tokens", ROOT / "scripts" / "derive_peer_tokens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_file_equals_the_script_output():
    bundled = (ROOT / "src" / "copyright_guard" / "data" / "peer_tokens.json").read_text("utf-8")
    assert bundled == _script().render(), "run: python scripts/derive_peer_tokens.py"


def test_the_rule_keeps_training_crawlers_and_drops_fetchers():
    tokens = {t.lower() for t in json.loads(_script().render())["tokens"]}
    assert {"gptbot", "ccbot", "claudebot", "google-extended", "applebot-extended", "bytespider"} <= tokens
    for fetcher in ("chatgpt-user", "claude-user", "perplexity-user", "oai-searchbot", "claude-searchbot",
                    "meta-externalfetcher", "cohere-ai", "mistralai-user", "duckassistbot"):
        assert fetcher not in tokens
    # keys that are no RFC 9309 product token ("Kangaroo Bot", "iaskspider/2.0") never appear
    assert all(PRODUCT_TOKEN_RE.fullmatch(t) for t in tokens)


def test_case_variants_are_kept_once():
    module = _script()
    entries = {"Meta-ExternalAgent": {"function": "AI Data Scrapers"}, "meta-externalagent": {"function": "AI Data Scrapers"}}
    tokens = module.derive(entries, "test")["tokens"]
    assert [t.lower() for t in tokens].count("meta-externalagent") == 1


def test_the_policy_reads_the_bundled_tokens():
    assert "GPTBot" in default_peer_tokens()
