#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser tests (tests/browser). Idempotent: when both are
# present this returns at once. A test tool's own browser download does not work here; the tests start
# /usr/bin/chromium through playwright's executable_path instead.
set -euo pipefail
LOG_TAG=browser
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CHROMIUM="${BYOK_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
log "installing Debian's chromium and chromium-driver (once per machine)"
apt_install chromium chromium-driver fonts-dejavu-core
log "$("$CHROMIUM" --version)"
