#!/usr/bin/env bash
# Debian's docker-compose (1.29), which validates docker-compose.yml without a Docker engine
# (`docker-compose config`, tests/unit/test_compose_config.py). Idempotent: returns at once when present.
set -euo pipefail
LOG_TAG=compose
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
command -v docker-compose >/dev/null 2>&1 && exit 0
log "installing Debian's docker-compose (once per machine; it needs no Docker engine to check a file)"
apt_install docker-compose
log "$(docker-compose version --short)"
