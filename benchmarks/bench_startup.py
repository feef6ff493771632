"""Start-up cost of the CLI and the Scrapy add-on: wall time of fresh processes, median of N runs.

    python benchmarks/bench_startup.py [--runs 7]
    PYTHONPATH=/path/to/other/checkout/src python benchmarks/bench_startup.py   # the same, for another version

Each case is a new interpreter (imports are what is measured, so nothing may be cached in-process);
the add-on is compared with Scrapy alone in the same run, so machine load affects both alike.
`python -X importtime` on the same command lines shows which imports the time goes to.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
# PYTHONPATH=<another checkout>/src measures that checkout with this environment (a "before" figure).
ENV = {"PATH": str(BIN), **({"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {})}
CASES = {
    "scrapy alone (import scrapy.crawler)": [sys.executable, "-c", "import scrapy.crawler"],
    "scrapy + the add-on's components": [sys.executable, "-c",
        "import scrapy.crawler; from copyright_guard.scrapy.addon import Addon; "
        "from copyright_guard.scrapy import middleware, extension, provenance"],
    "copyright-guard --help": [str(BIN / "copyright-guard"), "--help"],
    "copyright-guard check URL --no-fetch": [str(BIN / "copyright-guard"), "check", "https://example.com/x",
                                             "--no-fetch", "--json"],
}


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child). CPU time is what a loaded machine distorts least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command}: exit {done.returncode}: {done.stderr.decode()[-300:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    cpus: dict[str, list[float]] = {name: [] for name in CASES}
    for command in CASES.values():
        run(command)  # warm the file cache
    for _ in range(args.runs):  # interleaved, so a burst of load hits every case alike
        for name, command in CASES.items():
            elapsed, cpu = run(command)
            walls[name].append(elapsed)
            cpus[name].append(cpu)
    print("median wall   median CPU")
    for name in CASES:
        print(f"{statistics.median(walls[name]):8.3f} s  {statistics.median(cpus[name]):8.3f} s  {name}")
    base, addon = "scrapy alone (import scrapy.crawler)", "scrapy + the add-on's components"
    print(f"{statistics.median(walls[addon]) - statistics.median(walls[base]):8.3f} s  "
          f"{statistics.median(cpus[addon]) - statistics.median(cpus[base]):8.3f} s  added by the add-on to Scrapy's start")


if __name__ == "__main__":
    main()
