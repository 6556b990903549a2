#!/usr/bin/env bash
# Local HashiCorp Vault for the byok stack (the binary from build.sh, cached outside the repo).
#
#   vault.sh start-dev              in-memory dev server, a fresh random root token
#   vault.sh start-durable [DIR]    file storage in DIR (default $BYOK_RUN_DIR/vault-data), init + unseal
#   vault.sh stop | status
#   vault.sh bootstrap | smoke      bootstrap.py (hvac): policies, tokens, AppRoles -> vault.env
#
# Coordinates and tokens go to $BYOK_RUN_DIR/vault.env (0600); no secret is ever on a command line.
set -euo pipefail
LOG_TAG=vault
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

LOG_FILE="$BYOK_RUN_DIR/vault.log"
PID_FILE="$BYOK_RUN_DIR/vault.pid"
ENV_FILE="$BYOK_RUN_DIR/vault.env"
START_TIMEOUT="${BYOK_VAULT_START_TIMEOUT:-60}"

vault_pid() { running_pid "$PID_FILE" 'vault.* server'; }
health() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/v1/sys/health" 2>/dev/null || true; }

pick_port() { # a free port whose successor (Vault's cluster port) is free too
  local port="${BYOK_VAULT_PORT:-}"
  if [[ -n "$port" ]]; then
    port_free "$port" && port_free $((port + 1)) || die "BYOK_VAULT_PORT=$port or its successor is in use"
  else
    until port="$(free_port)" && port_free $((port + 1)); do :; done
  fi
  echo "$port"
}

launch() { # addr ready-regex command... : start the server in its own session, wait for /v1/sys/health
  local addr=$1 want=$2 pid deadline=$((SECONDS + START_TIMEOUT)) code
  shift 2
  mkdir -p "$BYOK_RUN_DIR"
  printf '\n=== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOG_FILE"
  (only_env VAULT_DEV_ROOT_TOKEN_ID && exec setsid "$@" >>"$LOG_FILE" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$PID_FILE"
  until [[ "$(health "$addr")" =~ $want ]]; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$LOG_FILE" >&2; die "vault server exited during start-up"; }
    ((SECONDS < deadline)) || { stop_pid vault "$pid" 10; tail -n 30 "$LOG_FILE" >&2; die "not ready after ${START_TIMEOUT}s"; }
    sleep 0.1
  done
}

cmd_start_dev() {
  vault_pid >/dev/null && { log "already running"; return 0; }
  local port root
  port="$(pick_port)"
  root="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  # The root token reaches the server through its environment, never its command line.
  VAULT_DEV_ROOT_TOKEN_ID="byok-dev-$root" launch "http://127.0.0.1:$port" '^200$' \
    "$("$INFRA/vault/build.sh")" server -dev -dev-listen-address="127.0.0.1:$port" -dev-no-store-token
  write_env "$ENV_FILE" "BYOK_VAULT_ADDR=http://127.0.0.1:$port" "BYOK_VAULT_ROOT_TOKEN=byok-dev-$root" \
    BYOK_VAULT_MODE=dev
  log "dev server ready at http://127.0.0.1:$port (pid $(cat "$PID_FILE"))"
}

cmd_start_durable() {
  vault_pid >/dev/null && { log "already running"; return 0; }
  local data_dir="${1:-${BYOK_VAULT_DATA_DIR:-$BYOK_RUN_DIR/vault-data}}" port config="$BYOK_RUN_DIR/vault-durable.hcl"
  mkdir -p "$data_dir" && data_dir="$(cd "$data_dir" && pwd)"
  port="$(pick_port)"
  cat >"$config" <<EOF
storage "file" { path = "$data_dir" }
listener "tcp" {
  address         = "127.0.0.1:$port"
  cluster_address = "127.0.0.1:$((port + 1))"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:$port"
cluster_addr  = "https://127.0.0.1:$((port + 1))"
disable_mlock = true
EOF
  # Any answer will do here: 501 not initialised, 503 sealed, 200 active.
  launch "http://127.0.0.1:$port" '^(200|429|472|473|501|503)$' "$("$INFRA/vault/build.sh")" server -config="$config"
  BYOK_VAULT_ADDR="http://127.0.0.1:$port" BYOK_VAULT_DATA_DIR="$data_dir" "$PY" "$INFRA/vault/bootstrap.py" unseal ||
    { stop_pid vault "$(cat "$PID_FILE")" 10; die "init/unseal failed"; }
  log "durable server ready at http://127.0.0.1:$port (pid $(cat "$PID_FILE")), data in $data_dir"
}

cmd_stop() {
  local pid
  if pid="$(vault_pid)"; then
    stop_pid vault "$pid" "${BYOK_VAULT_STOP_TIMEOUT:-20}"
    log "stopped"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid addr
  pid="$(vault_pid)" || { echo "vault: not running"; return 3; }
  addr="$(env_value "$ENV_FILE" BYOK_VAULT_ADDR)"
  echo "vault: running (pid $pid) at $addr, sys/health $(health "$addr")"
}

need_venv
case "${1:-}" in
  start-dev) cmd_start_dev ;;
  start-durable) cmd_start_durable "${2:-}" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  bootstrap | smoke) "$PY" "$INFRA/vault/bootstrap.py" "$1" ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
