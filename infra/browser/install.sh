#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver for the browser tests (tests/browser). Idempotent: when both are
# present this returns at once. Test tools' own browser downloads do not work here; the tests start
# /usr/bin/chromium through playwright's executable_path instead.
set -euo pipefail
CHROMIUM="${BYOK_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
SUDO=""
if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "[browser] need root or sudo to install chromium" >&2; exit 1; }
  SUDO="sudo -n"
fi
echo "[browser] installing Debian's chromium and chromium-driver (once per machine)" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale or missing package list is the usual cause of a failed install: update, then try once more.
if ! $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null; then
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
fi
"$CHROMIUM" --version >&2
