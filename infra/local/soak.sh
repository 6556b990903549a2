#!/usr/bin/env bash
# `make soak`: bench/soak/soak.py against the real stack (started here, and stopped afterwards, unless it
# was already running). Arguments go to soak.py (e.g. --minutes 20).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
export BYOK_RUN_DIR="${BYOK_RUN_DIR:-$REPO/.run}"
started_here=0
if [[ ! -f "$BYOK_RUN_DIR/stack.env" ]]; then
  started_here=1
  infra/local/stack.sh up || exit 1
fi
"$REPO/.venv/bin/python" bench/soak/soak.py "$@"
rc=$?
[[ $started_here == 1 ]] && infra/local/stack.sh down
exit $rc
