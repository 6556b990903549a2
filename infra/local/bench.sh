#!/usr/bin/env bash
# `make bench`: every benchmark under bench/ (bench/<area>/bench_*.py), each printing its figures,
# against the real stack (started here, and stopped afterwards, unless it was already running).
set -uo pipefail
LOG_TAG=bench
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$REPO"
started_here=0
if [[ ! -f "$BYOK_RUN_DIR/stack.env" ]]; then
  started_here=1
  infra/local/stack.sh up || exit 1
fi
rc=0
for bench in bench/*/bench_*.py; do
  echo "=== $bench"
  "$PY" "$bench" || { echo "!!! $bench failed"; rc=1; }
done
[[ $started_here == 1 ]] && infra/local/stack.sh down
exit $rc
