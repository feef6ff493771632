"""Web Bot Auth: keys, the signer, the key directory, and signed crawls verified by an independent
verifier (verifier.py) against the directory `serve` publishes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from copyright_guard.cli import main
from copyright_guard.core.policy import load_policy, parse_policy
from copyright_guard.demo.server import MultiOriginServer, Route
from copyright_guard.webbotauth import RequestSigner, generate_key_file, load_signing_key, signer_for_policy
from copyright_guard.webbotauth.keys import jwk_thumbprint
from verifier import thumbprint, verify_directory_response, verify_request

CLI = [str(Path(sys.executable).with_name("copyright-guard"))]
TEST_POLICY = Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml"
DIRECTORY = "https://crawler.test-operator.example/.well-known/http-message-signatures-directory"


def signed_policy(tmp_path: Path, key_name: str, name: str = "signed.toml") -> Path:
    """The test identity policy with [crawler] signing_key (relative) and key_directory."""
    text = TEST_POLICY.read_text().replace(
        "[complaints]", f'signing_key = "{key_name}"\nkey_directory = "{DIRECTORY}"\n\n[complaints]')
    path = tmp_path / name
    path.write_text(text)
    return path


def published_directory(policy_path: Path) -> tuple[dict, dict]:
    """The key directory as `serve --policy` publishes it: (JWKS, response headers)."""
    from fastapi.testclient import TestClient

    from copyright_guard.store.db import connect
    from copyright_guard.web.app import create_app

    policy = load_policy(policy_path)
    engine = connect(f"sqlite:///{policy_path.parent / 'portal.db'}")
    app = create_app(engine, policy, signer=signer_for_policy(policy))
    with TestClient(app, base_url="http://portal.test") as client:
        response = client.get("/.well-known/http-message-signatures-directory")
    engine.dispose()
    assert response.status_code == 200
    return response.json(), dict(response.headers)


def test_the_key_id_is_the_rfc7638_thumbprint_rfc8037_vector():
    # RFC 8037 Appendix A.2/A.3: the Ed25519 public key and its JWK thumbprint.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_keygen_writes_an_owner_only_ed25519_pem_and_prints_its_key_id(tmp_path):
    out = tmp_path / "key.pem"
    result = CliRunner().invoke(main, ["identity", "keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    private = serialization.load_pem_private_key(out.read_bytes(), password=None)
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    import base64

    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert result.stdout.splitlines()[0] == thumbprint({"kty": "OKP", "crv": "Ed25519", "x": x})
    again = CliRunner().invoke(main, ["identity", "keygen", "--out", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output and len(again.output.strip().splitlines()) == 1
    as_json = json.loads(CliRunner().invoke(main, ["identity", "keygen", "-o", str(tmp_path / "k2.pem"), "--json"]).stdout)
    assert as_json["key_id"] == thumbprint(as_json["jwk"])


def test_a_signed_request_verifies_and_a_tampered_one_does_not(tmp_path):
    key = generate_key_file(tmp_path / "k.pem")
    directory = json.loads(key.directory())
    signer = RequestSigner(key, DIRECTORY)
    now = datetime.now(timezone.utc)
    headers = signer.request_headers("GET", "http://Shop.Example:8080/a/b?c=1", now)
    lines = [("Host", "shop.example:8080"), *headers.items()]
    assert verify_request(lines, directory, now.timestamp()) == (True, "")
    assert 'tag="web-bot-auth"' in headers["Signature-Input"] and 'alg="ed25519"' in headers["Signature-Input"]
    assert headers["Signature-Agent"] == f'"{DIRECTORY}"'
    # Another host, another agent, or too late: no.
    assert not verify_request([("Host", "other.example:8080"), *headers.items()], directory, now.timestamp())[0]
    forged = dict(headers, **{"Signature-Agent": '"https://evil.example/dir"'})
    assert not verify_request([("Host", "shop.example:8080"), *forged.items()], directory, now.timestamp())[0]
    later = (now + signer.lifetime + timedelta(seconds=10)).timestamp()
    assert verify_request(lines, directory, later) == (False, "outside created..expires")


def test_bad_key_configuration_is_one_line(tmp_path):
    policy = signed_policy(tmp_path, "missing.pem")
    for args in (["crawl", "--url", "http://127.0.0.1:9/", "--policy", str(policy)],
                 ["check", "http://127.0.0.1:9/", "--no-fetch", "--policy", str(policy)],
                 ["serve", "--policy", str(policy), "--port", "0", "--db", f"sqlite:///{tmp_path / 'p.db'}"]):
        result = CliRunner().invoke(main, args)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1, (args, result.output)
        assert "signing_key" in lines[0] and "missing.pem" in lines[0], lines[0]
    (tmp_path / "rsa.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        load_signing_key(tmp_path / "rsa.pem")
    half = TEST_POLICY.read_text().replace("[complaints]", 'signing_key = "k.pem"\n\n[complaints]')
    with pytest.raises(ValueError, match="signing_key and key_directory go together"):
        parse_policy(half, "half.toml")
    for bad in ("ftp://keys.example/dir", 'https://keys.example/"dir"', "https://keys.example/a b"):
        text = TEST_POLICY.read_text().replace(
            "[complaints]", f"signing_key = 'k.pem'\nkey_directory = '{bad}'\n\n[complaints]")
        with pytest.raises(ValueError, match="key_directory.*absolute http"):
            parse_policy(text, "bad.toml")


def test_the_key_directory_is_a_signed_jwks_with_its_media_type(tmp_path):
    key = generate_key_file(tmp_path / "k.pem")
    directory, headers = published_directory(signed_policy(tmp_path, "k.pem"))
    assert headers["content-type"] == "application/http-message-signatures-directory+json"
    (jwk,) = directory["keys"]
    assert {k: jwk[k] for k in ("kty", "crv")} == {"kty": "OKP", "crv": "Ed25519"} and "d" not in jwk
    assert thumbprint(jwk) == key.key_id
    assert verify_directory_response(headers, "portal.test", directory, time.time()) == (True, "")
    assert not verify_directory_response(headers, "elsewhere.test", directory, time.time())[0]


def test_without_a_key_there_is_no_directory(tmp_path):
    from fastapi.testclient import TestClient

    from copyright_guard.store.db import connect
    from copyright_guard.web.app import create_app

    engine = connect(f"sqlite:///{tmp_path / 'p.db'}")
    with TestClient(create_app(engine, load_policy(TEST_POLICY))) as client:
        assert client.get("/.well-known/http-message-signatures-directory").status_code == 404
        assert "does not sign its requests yet" in client.get("/crawler").text
        assert client.get("/crawler.json").json()["verification"]["signed"] is False
    engine.dispose()


ROUTES = {
    ("a", "/robots.txt"): Route.text("User-agent: *\nAllow: /\n"),
    ("a", "/"): Route.html('<html><body><a href="/one">1</a> <a href="/two">2</a> <a href="/gone">3</a></body></html>'),
    ("a", "/one"): Route.html("<html><body>one</body></html>"),
    ("a", "/two"): Route(301, (("Location", "/one?again"),)),
    ("a", "/one?again"): Route.html("<html><body>one again</body></html>"),
    ("b", "/"): Route.html("<html><body>b</body></html>"),  # no robots.txt: 404
}


def _crawl(policy: Path, server: MultiOriginServer, tmp_path: Path, db: str) -> None:
    done = subprocess.run([*CLI, "crawl", "--policy", str(policy), "--url", server.url("a", "/"), "--url",
                           server.url("b", "/"), "--db", db, "--depth", "1", "--json", "--log-level", "ERROR"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def _share_verified(server: MultiOriginServer, directory: dict) -> tuple[int, int, list[str]]:
    results = [verify_request(list(r.headers), directory, time.time()) for r in server.requests]
    return sum(ok for ok, _ in results), len(results), [why for ok, why in results if not ok]


def test_a_signed_crawl_verifies_every_request_and_a_wrong_key_none(tmp_path):
    generate_key_file(tmp_path / "published.pem")
    generate_key_file(tmp_path / "other.pem")
    published = signed_policy(tmp_path, "published.pem")
    directory, _ = published_directory(published)  # what `serve --policy` publishes

    db = f"sqlite:///{tmp_path / 'audit.db'}"
    with MultiOriginServer(ROUTES) as server:
        _crawl(published, server, tmp_path, db)
        verified, total, why = _share_verified(server, directory)
        paths = {r.path for r in server.requests}
    assert total >= 6 and verified == total, why  # 100 %
    # Site-wide files are signed too, and so is the request after a redirect.
    assert {"/robots.txt", "/.well-known/tdmrep.json", "/ai.txt", "/one?again"} <= paths

    from sqlalchemy import select

    from copyright_guard.store.db import connect
    from copyright_guard.store.schema import runs

    engine = connect(db)
    with engine.connect() as connection:
        (crawler,) = connection.execute(select(runs.c.crawler)).scalars()
    engine.dispose()
    assert f"Web Bot Auth keyid {load_signing_key(tmp_path / 'published.pem').key_id}" in crawler

    wrong = signed_policy(tmp_path, "other.pem", "wrong.toml")  # signs with a key the directory lacks
    with MultiOriginServer(ROUTES) as server:
        _crawl(wrong, server, tmp_path, f"sqlite:///{tmp_path / 'audit2.db'}")
        verified, total, why = _share_verified(server, directory)
    assert total >= 6 and verified == 0  # 0 %
    assert set(why) == {f"keyid {load_signing_key(tmp_path / 'other.pem').key_id} is not in the directory"}


def test_check_signs_its_requests_site_wide_files_included(tmp_path):
    generate_key_file(tmp_path / "k.pem")
    policy = signed_policy(tmp_path, "k.pem")
    directory, _ = published_directory(policy)
    with MultiOriginServer(ROUTES) as server:
        result = CliRunner().invoke(main, ["check", server.url("a", "/one"), "--policy", str(policy), "--json"])
        assert result.exit_code == 0, result.output
        verified, total, why = _share_verified(server, directory)
        assert {r.path for r in server.requests} >= {"/robots.txt", "/.well-known/tdmrep.json", "/one"}
    assert total >= 3 and verified == total, why


def test_headers_are_reused_only_for_the_same_authority_within_the_same_second(tmp_path):
    key = generate_key_file(tmp_path / "k.pem")
    directory = json.loads(key.directory())
    signer = RequestSigner(key, DIRECTORY)
    now = datetime(2026, 12, 3, 12, 0, 0, 100_000, tzinfo=timezone.utc)
    first = signer.request_headers("GET", "http://a.example:81/x", now)
    assert signer.request_headers("GET", "http://a.example:81/y", now + timedelta(milliseconds=500)) == first
    other_host = signer.request_headers("GET", "http://b.example:81/x", now)
    next_second = signer.request_headers("GET", "http://a.example:81/x", now + timedelta(seconds=1))
    assert len({first["Signature"], other_host["Signature"], next_second["Signature"]}) == 3
    for host, headers in (("a.example:81", first), ("b.example:81", other_host), ("a.example:81", next_second)):
        assert verify_request([("Host", host), *headers.items()], directory, now.timestamp() + 1) == (True, "")
