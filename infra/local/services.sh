#!/usr/bin/env bash
# The three services (and, unless the caller points BYOK_*_BASE_URL elsewhere, the fake LLM providers)
# in the background, configured from $BYOK_RUN_DIR/stack.env. BYOK_* variables already set in the
# environment win over those defaults.
#
#   services.sh up | down | status
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export BYOK_RUN_DIR="${BYOK_RUN_DIR:-$REPO/.run}"
STACK_ENV="$BYOK_RUN_DIR/stack.env"
SERVICES_ENV="$BYOK_RUN_DIR/services.env"
PY="$REPO/.venv/bin/python"

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=ports.sh
source "$HERE/ports.sh"
preferred_port() { if port_free "$1"; then echo "$1"; else free_port; fi; }

wait_http() { # name url pidfile
  local deadline=$(( $(date +%s) + 60 ))
  until curl -fsS -o /dev/null "$2" 2>/dev/null; do
    if ! kill -0 "$(cat "$3")" 2>/dev/null; then
      tail -n 30 "$BYOK_RUN_DIR/$1.log" >&2; die "$1 exited during start-up"
    fi
    (( $(date +%s) < deadline )) || { tail -n 30 "$BYOK_RUN_DIR/$1.log" >&2; die "$1 not ready after 60 s"; }
    sleep 0.2
  done
  log "$1 ready ($2)"
}

start() { # name env-assignments... -- command...
  local name=$1; shift
  local assignments=()
  while [[ $1 != "--" ]]; do assignments+=("$1"); shift; done
  shift
  ( exec env "${assignments[@]}" setsid "$@" >>"$BYOK_RUN_DIR/$name.log" 2>&1 ) &
  echo $! >"$BYOK_RUN_DIR/$name.pid"
}

cmd_up() {
  [[ -f "$STACK_ENV" ]] || die "the stack is not running: make stack-up"
  # The stack's coordinates, then the caller's own BYOK_* variables on top (they win).
  local caller_env line
  caller_env="$(env | grep '^BYOK_' || true)"
  set -a; source "$STACK_ENV"; set +a
  while IFS= read -r line; do [[ -n $line ]] && export "${line?}"; done <<<"$caller_env"
  local keyvault_port inference_ops billing_ops fake_port
  keyvault_port="${BYOK_KEYVAULT_PORT:-$(preferred_port 8080)}"
  inference_ops="${BYOK_INFERENCE_METRICS_PORT:-$(free_port)}"
  billing_ops="${BYOK_BILLING_METRICS_PORT:-$(free_port)}"
  local common=(BYOK_RUN_DIR="$BYOK_RUN_DIR" BYOK_KAFKA_BOOTSTRAP="$BYOK_KAFKA_BOOTSTRAP" BYOK_VAULT_ADDR="$BYOK_VAULT_ADDR"
                BYOK_AUTH_JWT_SECRET="${BYOK_AUTH_JWT_SECRET:-byok-dev-jwt-secret-change-me-in-production}")
  local providers=()
  if [[ -z "${BYOK_ANTHROPIC_BASE_URL:-}${BYOK_OPENAI_BASE_URL:-}${BYOK_GEMINI_BASE_URL:-}${BYOK_OPENROUTER_BASE_URL:-}" ]]; then
    fake_port="$(free_port)"
    start fake-providers BYOK_RUN_DIR="$BYOK_RUN_DIR" -- "$PY" -m byok_testing.fake_providers --port "$fake_port"
    wait_http fake-providers "http://127.0.0.1:$fake_port/_health" "$BYOK_RUN_DIR/fake-providers.pid"
    local fake="http://127.0.0.1:$fake_port"
    providers=(BYOK_ANTHROPIC_BASE_URL="$fake" BYOK_OPENAI_BASE_URL="$fake/v1"
               BYOK_GEMINI_BASE_URL="$fake" BYOK_OPENROUTER_BASE_URL="$fake/api/v1"
               BYOK_SYSTEM_ANTHROPIC_API_KEY="${BYOK_SYSTEM_ANTHROPIC_API_KEY:-sk-ant-api03-demo-system-key-000000000000000000000000}"
               BYOK_SYSTEM_OPENAI_API_KEY="${BYOK_SYSTEM_OPENAI_API_KEY:-sk-proj-demo-system-key-0000000000000000000000000000}"
               BYOK_SYSTEM_GEMINI_API_KEY="${BYOK_SYSTEM_GEMINI_API_KEY:-AIzaSyDemoSystemKey000000000000000000}"
               BYOK_SYSTEM_OPENROUTER_API_KEY="${BYOK_SYSTEM_OPENROUTER_API_KEY:-sk-or-v1-demo-system-key-00000000000000000000000000000000}")
    log "no BYOK_*_BASE_URL set: LLM providers are faked at $fake"
  else
    for v in BYOK_ANTHROPIC_BASE_URL BYOK_OPENAI_BASE_URL BYOK_GEMINI_BASE_URL BYOK_OPENROUTER_BASE_URL \
             BYOK_SYSTEM_ANTHROPIC_API_KEY BYOK_SYSTEM_OPENAI_API_KEY BYOK_SYSTEM_GEMINI_API_KEY BYOK_SYSTEM_OPENROUTER_API_KEY; do
      [[ -n "${!v:-}" ]] && providers+=("$v=${!v}")
    done
  fi

  start keyvault "${common[@]}" "${providers[@]}" BYOK_VAULT_TOKEN="$BYOK_VAULT_TOKEN_KEYVAULT" \
        BYOK_KEYVAULT_PORT="$keyvault_port" -- "$PY" -m byok_keyvault
  wait_http keyvault "http://127.0.0.1:$keyvault_port/healthz" "$BYOK_RUN_DIR/keyvault.pid"
  start inference "${common[@]}" "${providers[@]}" BYOK_VAULT_TOKEN="$BYOK_VAULT_TOKEN_INFERENCE" \
        BYOK_INFERENCE_METRICS_PORT="$inference_ops" -- "$PY" -m byok_inference
  start billing "${common[@]}" BYOK_VAULT_TOKEN="$BYOK_VAULT_TOKEN_BILLING" \
        BYOK_DATABASE_URL="${BYOK_LEDGER_URL:-$BYOK_DATABASE_URL}" BYOK_BILLING_METRICS_PORT="$billing_ops" \
        -- "$PY" -m byok_billing
  wait_http inference "http://127.0.0.1:$inference_ops/healthz" "$BYOK_RUN_DIR/inference.pid"
  wait_http billing "http://127.0.0.1:$billing_ops/healthz" "$BYOK_RUN_DIR/billing.pid"
  {
    echo "BYOK_KEYVAULT_URL=http://127.0.0.1:$keyvault_port"
    echo "BYOK_INFERENCE_OPS_URL=http://127.0.0.1:$inference_ops"
    echo "BYOK_BILLING_OPS_URL=http://127.0.0.1:$billing_ops"
    echo "BYOK_AUTH_JWT_SECRET=${BYOK_AUTH_JWT_SECRET:-byok-dev-jwt-secret-change-me-in-production}"
    [[ -n "${fake:-}" ]] && echo "BYOK_FAKE_PROVIDERS_URL=$fake"
  } >"$SERVICES_ENV"
  chmod 600 "$SERVICES_ENV"
  log "services up; coordinates in $SERVICES_ENV, logs in $BYOK_RUN_DIR/{keyvault,inference,billing}.log"
}

stop_one() {
  local pidfile="$BYOK_RUN_DIR/$1.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "$1 did not stop in 15 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$pidfile"
  log "$1 stopped"
}

cmd_down() {
  for name in inference billing keyvault fake-providers; do stop_one "$name"; done
  rm -f "$SERVICES_ENV"
}

cmd_status() {
  for name in keyvault inference billing fake-providers; do
    if [[ -f "$BYOK_RUN_DIR/$name.pid" ]] && kill -0 "$(cat "$BYOK_RUN_DIR/$name.pid")" 2>/dev/null; then
      echo "$name: running (pid $(cat "$BYOK_RUN_DIR/$name.pid"))"
    else
      echo "$name: stopped"
    fi
  done
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
