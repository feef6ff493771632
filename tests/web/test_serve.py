"""``copyright-guard serve`` as a real process: the portal answers, and the outbox is delivered in
the background to a real SMTP server (aiosmtpd on 127.0.0.x)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity

CLI = str(Path(sys.executable).with_name("copyright-guard"))
HOST = "127.0.0.32"
SMTP_HOST = "127.0.0.27"
pytestmark = pytest.mark.slow  # two processes start (~6 s)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def env(**extra: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COPYRIGHT_GUARD_")}
    return {**base, **extra}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def serving(*args: str, **environment: str):
    """``copyright-guard serve --host HOST --port <free> ARGS`` until the block ends; yields its base URL."""
    port = free_port(HOST)
    process = subprocess.Popen([CLI, "serve", "--policy", TEST_POLICY, "--host", HOST, "--port", str(port), *args], env=env(**environment),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://{HOST}:{port}"
    try:
        def up():
            try:
                return httpx.get(base + "/", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                return False

        wait_for(up, 30, "the portal")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_answers_and_delivers_mail_in_the_background(tmp_path):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    added = subprocess.run([CLI, "reviewers", "add", "rev1", "--password-stdin", "--db", db], input="a very long password\n",
                           capture_output=True, text=True, env=env(), timeout=60)
    assert added.returncode == 0, added.stderr
    inbox = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            inbox.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    smtp_port = free_port(SMTP_HOST)
    controller = Controller(Handler(), hostname=SMTP_HOST, port=smtp_port)
    controller.start()
    try:
        with serving("--db", db, "--mail-interval", "1", "--smtp-host", SMTP_HOST, "--smtp-port", str(smtp_port),
                     "--smtp-security", "none", COPYRIGHT_GUARD_SECRET_KEY="k" * 40) as base:
            receipt = httpx.post(base + "/api/complaints", json={
                "name": "Ada", "email": "ada@example.org", "role": "rightsholder", "type": "other",
                "description": "A complaint long enough to be accepted.", "domains": ["pirate.example"]}).json()
            basic = {"authorization": "Basic " + base64.b64encode(b"rev1:a very long password").decode()}
            acked = httpx.post(f"{base}/api/complaints/{receipt['reference']}/transitions", headers=basic,
                               json={"to": "acknowledged", "why": "received"})
            assert acked.status_code == 200, acked.text
            wait_for(lambda: len(inbox) >= 2, 15, "the receipt and the acknowledgement emails")
            assert f"[{receipt['reference']}] Receipt of your copyright complaint" in inbox[0]
            assert f"[{receipt['reference']}] We have received your copyright complaint" in inbox[1]
            assert httpx.get(base + "/").headers.get("server") is None  # no server banner
    finally:
        controller.stop()


def test_serve_refuses_a_short_secret_key(tmp_path):
    result = subprocess.run([CLI, "serve", "--policy", TEST_POLICY, "--db", f"sqlite:///{tmp_path / 'x.db'}", "--port", "0"],
                            env=env(COPYRIGHT_GUARD_SECRET_KEY="short"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "COPYRIGHT_GUARD_SECRET_KEY is too short" in result.stderr


def test_serve_does_not_believe_x_forwarded_for_by_default(tmp_path):
    # uvicorn's own default trusts X-Forwarded-For from 127.0.0.1: every request from this host
    # could claim a new client address and escape the rate limits.
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    with serving("--db", db, "--submissions-per-hour", "1") as base:
        body = {"name": "Ada", "email": "ada@example.org", "role": "rightsholder", "type": "other",
                "description": "A complaint long enough to be accepted.", "domains": ["pirate.example"]}
        codes = [httpx.post(base + "/api/complaints", json=body, headers={"x-forwarded-for": f"192.0.2.{i}"}).status_code
                 for i in (1, 2)]
        assert codes == [201, 429]
