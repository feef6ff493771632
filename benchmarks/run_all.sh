#!/usr/bin/env bash
# Runs every benchmark once, each beside its own baseline in the same run (see docs/benchmarks.md).
# Usage: make bench   (or: bash benchmarks/run_all.sh)   Results are printed, nothing is written.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "# $(date -u +%FT%TZ)  $(nproc) cores  load: $(cut -d' ' -f1-3 /proc/loadavg)"
for bench in bench_decisions bench_post_fetch bench_optouts bench_exclusions bench_fetch; do
  echo; echo "## $bench"; "$PY" "benchmarks/$bench.py"
done
echo; echo "## bench_store"; "$PY" benchmarks/bench_store.py
echo; echo "## bench_crawl"; "$PY" benchmarks/bench_crawl.py --gc --runs 3
echo; echo "## bench_startup"; "$PY" benchmarks/bench_startup.py
echo; echo "## bench_check_batch"; "$PY" benchmarks/bench_check_batch.py
