"""The default checkpoint key, created on first use: several workers starting at once on a machine
without one all sign with the one key that gets created (a crawl's first `--workers 4` lost a
worker to "a file is already there" when two created it at the same moment)."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from copyright_guard.core.files import write_new_file
from copyright_guard.store.keys import KeyExistsError, load_or_create, write_new_key


class _SlowToLook(type(Path())):
    """A path whose exists() answers what it saw 0.3 s earlier: every worker looks, finds no key,
    and goes on to create it - the race, every time."""

    def exists(self) -> bool:
        seen = super().exists()
        time.sleep(0.3)
        return seen


def _load(config: str, start, results) -> None:
    from copyright_guard.store import keys

    os.environ["XDG_CONFIG_HOME"] = config
    keys.default_key_path = lambda found=keys.default_key_path: _SlowToLook(found())
    start.wait()
    try:
        signer, _, created = load_or_create(None)
        results.put((signer.vkey, created))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put((f"error: {exc}", None))


def test_workers_starting_at_once_share_the_one_key_created(tmp_path):
    context = multiprocessing.get_context("spawn")  # this test process may run threads: no fork
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_load, args=(str(tmp_path), start, results)) for _ in range(6)]
    for worker in workers:
        worker.start()
    start.set()
    found = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert len({vkey for vkey, _ in found}) == 1, found  # one key, read whole by every worker
    assert sum(created for _, created in found) == 1, found
    assert os.listdir(tmp_path / "copyright-guard") == ["log-key"]  # no temporary file left behind
    assert (tmp_path / "copyright-guard" / "log-key").stat().st_mode & 0o777 == 0o600


def test_an_existing_file_is_never_replaced(tmp_path):
    path = tmp_path / "key"
    write_new_file(path, b"first\n", 0o600)
    try:
        write_new_key(path)
    except KeyExistsError as exc:
        assert "a file is already there" in str(exc)
    else:
        raise AssertionError("a key file was overwritten")
    assert path.read_bytes() == b"first\n" and os.listdir(tmp_path) == ["key"]
