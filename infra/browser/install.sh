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
SUDO=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "installing Chromium needs root or sudo (apt-get install chromium chromium-driver)"
  SUDO="sudo -n"
fi
log "installing Debian's chromium and chromium-driver (once per machine)"
export DEBIAN_FRONTEND=noninteractive
packages=(chromium chromium-driver fonts-dejavu-core)
# A stale or missing package list is the usual cause of a failed install: update, then try once more.
if ! $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
fi
log "$("$CHROMIUM" --version)"
