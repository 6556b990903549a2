#!/usr/bin/env bash
# `make test`: start the real stack, run every test, stop the stack; the exit code is pytest's.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
export BYOK_RUN_DIR="${BYOK_RUN_DIR:-$REPO/.run}"
t0=$(date +%s)
infra/browser/install.sh || { echo "[test] Chromium for tests/browser did not install" >&2; exit 1; }

# Leave a stack that was already running (make up) as it is; stop only what this run started.
started_here=0
if [[ ! -f "$BYOK_RUN_DIR/stack.env" ]]; then
  started_here=1
  trap 'infra/local/stack.sh down >/dev/null 2>&1 || true' EXIT
  infra/local/stack.sh up || { echo "[test] the local stack did not start" >&2; exit 1; }
fi
echo "[test] stack ready after $(( $(date +%s) - t0 ))s; running the tests" >&2

"$REPO/.venv/bin/python" -m pytest -ra --durations=15 "$@"
rc=$?
echo "[test] pytest exit code $rc after $(( $(date +%s) - t0 ))s in all" >&2
if [[ $started_here == 1 ]]; then
  infra/local/stack.sh down >/dev/null 2>&1 || true
  trap - EXIT
fi
exit $rc
