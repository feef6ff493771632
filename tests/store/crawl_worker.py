"""A crawl-like writer process for the crash and concurrency tests (run as a script).

    python crawl_worker.py DB_URL RUN_ID START COUNT MODE

MODE ``flush-report``: flush every 50 decisions and print "committed SEQ ID" for the last one
(what the parent may rely on after a SIGKILL). MODE ``signals``: install the writer's SIGINT/
SIGTERM handlers, submit with a long latency, print "submitted N", then wait to be signalled.
MODE ``finish``: write and finish the run.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from copyright_guard.core.policy import load_policy  # noqa: E402
from copyright_guard.store import DecisionWriter, connect, finish_run, install_signal_handlers  # noqa: E402
from store_helpers import T0, make_decision  # noqa: E402


def main(db_url: str, run_id: str, start: int, count: int, mode: str) -> None:
    policy = load_policy()
    engine = connect(db_url)
    writer = DecisionWriter(engine, run_id, max_latency=30 if mode == "signals" else 0.2)
    if mode == "signals":
        install_signal_handlers(writer)
    for number in range(start, start + count):
        decision_id = writer.submit(make_decision(number, policy, domain=f"w{run_id[-4:]}.example"))
        if mode == "flush-report" and (number + 1) % 50 == 0:
            writer.flush()
            print(f"committed {writer._seq} {decision_id}", flush=True)
    if mode == "signals":
        print(f"submitted {count}", flush=True)
        time.sleep(60)
    writer.close()
    if mode == "finish":
        finish_run(engine, run_id, None, T0 + timedelta(hours=1))
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
