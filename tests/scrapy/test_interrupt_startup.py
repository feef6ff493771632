"""Ctrl-C at any moment of `copyright-guard demo`, including Scrapy's start-up (before its own signal
handlers exist): one line or the interrupted summary, a non-zero exit, never a Twisted traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("copyright-guard"))


def _interrupt_demo(cwd: Path, after: float) -> subprocess.CompletedProcess:
    demo = subprocess.Popen([CLI, "demo", "--progress", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd)
    time.sleep(after)
    demo.send_signal(signal.SIGINT)
    out, err = demo.communicate(timeout=60)
    return subprocess.CompletedProcess(demo.args, demo.returncode, out, err)


@pytest.mark.slow
# 0.3 s: still importing / starting the demo site; 0.7-1.1 s: Scrapy loading its components inside
# Deferreds (where the "Unhandled error in Deferred ... KeyboardInterrupt" came from); 2 s: mid-crawl
# or already finished, depending on the machine.
@pytest.mark.parametrize("after", [0.3, 0.7, 0.8, 0.9, 1.0, 1.1, 2.0])
def test_ctrl_c_during_start_up_is_one_line_or_the_summary_never_a_traceback(tmp_path, after):
    result = _interrupt_demo(tmp_path, after)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    assert "Unhandled error" not in output, output[-3000:]
    if result.returncode == 130:  # before the crawl: exactly one line
        assert result.stderr.strip() == "interrupted"
    elif result.returncode == 1:  # the crawl ran, was stopped, and says so
        assert "interrupted" in result.stdout or "shutdown" in result.stdout, result.stdout[-2000:]
    else:  # the demo had already finished when the signal came
        assert result.returncode in (0, -signal.SIGINT), output[-2000:]
        assert "finished" in result.stdout
    db = tmp_path / "copyright-guard-demo.db"
    if db.exists():
        verify = subprocess.run([CLI, "audit", "verify", "--db", f"sqlite:///{db}"], capture_output=True, text=True,
                                timeout=60, cwd=tmp_path)
        assert verify.returncode == 0, verify.stdout + verify.stderr
