"""What `crawl --workers K` imports before forking its workers must leave nothing a fork cannot
share: no Twisted reactor installed (each worker installs Scrapy's own), no thread started, no
event loop running. Checked in a fresh interpreter, as the `crawl` process is one."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import json, sys, threading, asyncio
from copyright_guard.cli import workers
workers._preload()
try:
    asyncio.get_running_loop()
    loop = True
except RuntimeError:
    loop = False
print(json.dumps({"reactor": "twisted.internet.reactor" in sys.modules, "threads": threading.active_count(),
                  "loop": loop, "forkable": workers._forkable(), "scrapy": "scrapy.crawler" in sys.modules}))
"""


def test_preloading_leaves_the_process_forkable():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stdout)
    assert state == {"reactor": False, "threads": 1, "loop": False, "forkable": sys.platform.startswith("linux"),
                     "scrapy": True}


def test_a_workers_output_is_kept_up_to_its_bound_and_read_to_the_end():
    """The parent reads every worker's stdout to the end (a worker never blocks on a full pipe) and
    keeps at most MAX_OUTPUT_BYTES of it: more is no summary, not memory without bound."""
    import os

    from copyright_guard.cli.workers import MAX_OUTPUT_BYTES, _outputs, _Worker

    children = []
    for size in (10, MAX_OUTPUT_BYTES + 1):
        read, write = os.pipe()
        child = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdout.buffer.write(b'x' * {size})"],
                                 stdout=write)
        os.close(write)
        children.append(_Worker(child, read))
    assert _outputs(children) == ["x" * 10, ""]
    assert [child.wait() for child in children] == [0, 0]
