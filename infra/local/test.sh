#!/usr/bin/env bash
# `make test`: start the real stack, run every test, stop the stack; the exit code is pytest's.
# A stack that was already running (make up) is left as it is; only what this run started is stopped.
set -uo pipefail
LOG_TAG=test
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$REPO"
t0="$(now)"
infra/browser/install.sh || die "Chromium for tests/browser did not install"
infra/compose/install.sh || die "docker-compose for tests/unit/test_compose_config.py did not install"
started_here=0
if [[ ! -f "$BYOK_RUN_DIR/stack.env" ]]; then
  started_here=1
  trap 'infra/local/stack.sh down >/dev/null 2>&1 || true' EXIT
  infra/local/stack.sh up || die "the local stack did not start"
fi
log "stack ready after $(elapsed "$t0"); running the tests"
"$PY" -m pytest -ra --durations=15 "$@"
rc=$?
log "pytest exit code $rc after $(elapsed "$t0") in all"
if [[ $started_here == 1 ]]; then
  infra/local/stack.sh down >/dev/null 2>&1 || true
  trap - EXIT
fi
exit $rc
