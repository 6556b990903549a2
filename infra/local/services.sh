#!/usr/bin/env bash
# The three services (and, unless the caller points BYOK_*_BASE_URL elsewhere, the fake LLM providers) in
# the background against the stack of $BYOK_RUN_DIR/stack.env, each under supervise.sh (restarted when it
# dies). Each process starts from an empty environment plus its own settings: its own Vault token and no
# other service's, nothing secret on a command line. BYOK_* variables of the caller reach every service.
# The worker spends a stored user or org key only for a prompt carrying that user's token (header
# byok-user-token), as in prod: BYOK_INFERENCE_USER_AUTH=off before `up` turns that off.
#
#   services.sh up | down | status
set -euo pipefail
LOG_TAG=services
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

STACK_ENV="$BYOK_RUN_DIR/stack.env"
SERVICES_ENV="$BYOK_RUN_DIR/services.env"
NAMES=(keyvault inference billing fake-providers)
DEV_JWT_SECRET=byok-dev-jwt-secret-change-me-in-production

stack() { env_value "$STACK_ENV" "$1"; }

kafka_principal() { # service -> its own Kafka SASL settings when the stack runs in SASL mode (stack.sh up --sasl)
  local file
  file="$(stack BYOK_RUN_DIR)/clients/$1.env"
  [[ ! -f $file ]] || grep '^BYOK_KAFKA_S' "$file"
}

start() { # name settings... -- command...: writes env/<name>.env (0600), starts the supervisor
  local name=$1 settings=() line
  shift
  while [[ $1 != "--" ]]; do settings+=("$1"); shift; done
  shift
  # The caller's own BYOK_* settings go first so that the service's own (its token above all) win.
  local lines=()
  while IFS= read -r line; do
    [[ $line =~ ^BYOK_VAULT_(ROOT_TOKEN|TOKEN_|ROLE_ID_|SECRET_ID_) ]] || lines+=("${line%%=*}=$(printf '%q' "${line#*=}")")
  done < <(env | grep '^BYOK_[A-Z0-9_]*=' || true)
  for line in "${settings[@]}"; do lines+=("${line%%=*}=$(printf '%q' "${line#*=}")"); done
  write_env "$BYOK_RUN_DIR/env/$name.env" "${lines[@]}"
  rm -f "$BYOK_RUN_DIR/$name.pid"
  echo 0 >"$BYOK_RUN_DIR/$name.restarts"
  (only_env BYOK_RUN_DIR && exec setsid bash "$INFRA/local/supervise.sh" "$name" "$@" </dev/null >/dev/null 2>&1) &
  echo $! >"$BYOK_RUN_DIR/$name.supervisor.pid"
}

wait_http() { # name url
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "$2" 2>/dev/null; do
    if [[ "$(cat "$BYOK_RUN_DIR/$1.restarts" 2>/dev/null || echo 0)" != 0 ]]; then
      tail -n 30 "$BYOK_RUN_DIR/$1.log" >&2
      die "$1 exited during start-up"
    fi
    ((SECONDS < deadline)) || { tail -n 30 "$BYOK_RUN_DIR/$1.log" >&2; die "$1 not ready after 60 s"; }
    sleep 0.2
  done
  log "$1 ready ($2)"
}

cmd_up() {
  [[ -f "$STACK_ENV" ]] || die "the stack is not running: make stack-up"
  need_venv
  local name
  for name in "${NAMES[@]}"; do
    if running_pid "$BYOK_RUN_DIR/$name.supervisor.pid" "supervise.sh $name" >/dev/null; then
      log "services of an earlier 'up' are running: stopping them first"
      cmd_down
      break
    fi
  done
  trap 'log "start-up failed: stopping what started"; cmd_down' EXIT # no supervisor outlives a failed start
  local keyvault_port inference_ops billing_ops fake="" jwt="${BYOK_AUTH_JWT_SECRET:-$DEV_JWT_SECRET}"
  keyvault_port="${BYOK_KEYVAULT_PORT:-$(preferred_port 8080)}"
  port_free "$keyvault_port" || die "BYOK_KEYVAULT_PORT=$keyvault_port is in use on 127.0.0.1"
  inference_ops="${BYOK_INFERENCE_METRICS_PORT:-$(free_port)}"
  billing_ops="${BYOK_BILLING_METRICS_PORT:-$(free_port)}"
  local kafka="BYOK_KAFKA_BOOTSTRAP=${BYOK_KAFKA_BOOTSTRAP:-$(stack BYOK_KAFKA_BOOTSTRAP)}"
  local vault="BYOK_VAULT_ADDR=${BYOK_VAULT_ADDR:-$(stack BYOK_VAULT_ADDR)}"
  local providers=()
  if [[ -z "${BYOK_ANTHROPIC_BASE_URL:-}${BYOK_OPENAI_BASE_URL:-}${BYOK_GEMINI_BASE_URL:-}${BYOK_OPENROUTER_BASE_URL:-}" ]]; then
    local fake_port
    fake_port="$(free_port)"
    fake="http://127.0.0.1:$fake_port"
    start fake-providers -- "$PY" -m byok_testing.fake_providers --port "$fake_port"
    wait_http fake-providers "$fake/_health"
    providers=(BYOK_ANTHROPIC_BASE_URL="$fake" BYOK_OPENAI_BASE_URL="$fake/v1"
      BYOK_GEMINI_BASE_URL="$fake" BYOK_OPENROUTER_BASE_URL="$fake/api/v1"
      BYOK_SYSTEM_ANTHROPIC_API_KEY="${BYOK_SYSTEM_ANTHROPIC_API_KEY:-sk-ant-api03-demo-system-key-000000000000000000000000}"
      BYOK_SYSTEM_OPENAI_API_KEY="${BYOK_SYSTEM_OPENAI_API_KEY:-sk-proj-demo-system-key-0000000000000000000000000000}"
      BYOK_SYSTEM_GEMINI_API_KEY="${BYOK_SYSTEM_GEMINI_API_KEY:-AIzaSyDemoSystemKey000000000000000000}"
      BYOK_SYSTEM_OPENROUTER_API_KEY="${BYOK_SYSTEM_OPENROUTER_API_KEY:-sk-or-v1-demo-system-key-00000000000000000000000000000000}")
    log "no BYOK_*_BASE_URL set: LLM providers are faked at $fake"
  fi
  # A Vault the stack did not bootstrap: the services use the caller's BYOK_VAULT_TOKEN (passed through).
  local keyvault_token inference_token
  keyvault_token="$(stack BYOK_VAULT_TOKEN_KEYVAULT)" inference_token="$(stack BYOK_VAULT_TOKEN_INFERENCE)"
  local keyvault_kafka inference_kafka billing_kafka
  mapfile -t keyvault_kafka < <(kafka_principal keyvault)
  mapfile -t inference_kafka < <(kafka_principal inference)
  mapfile -t billing_kafka < <(kafka_principal billing)
  start keyvault "$kafka" "${keyvault_kafka[@]}" "$vault" ${keyvault_token:+"BYOK_VAULT_TOKEN=$keyvault_token"} \
    "BYOK_AUTH_JWT_SECRET=$jwt" "BYOK_KEYVAULT_PORT=$keyvault_port" "${providers[@]}" -- "$PY" -m byok_keyvault
  wait_http keyvault "http://127.0.0.1:$keyvault_port/healthz"
  start inference "$kafka" "${inference_kafka[@]}" "$vault" ${inference_token:+"BYOK_VAULT_TOKEN=$inference_token"} \
    "BYOK_AUTH_JWT_SECRET=$jwt" "BYOK_INFERENCE_METRICS_PORT=$inference_ops" "${providers[@]}" \
    "BYOK_INFERENCE_USER_AUTH=${BYOK_INFERENCE_USER_AUTH:-required}" -- "$PY" -m byok_inference
  start billing "$kafka" "${billing_kafka[@]}" "BYOK_DATABASE_URL=${BYOK_LEDGER_URL:-${BYOK_DATABASE_URL:-$(stack BYOK_DATABASE_URL)}}" \
    "BYOK_BILLING_METRICS_PORT=$billing_ops" -- "$PY" -m byok_billing
  wait_http inference "http://127.0.0.1:$inference_ops/healthz"
  wait_http billing "http://127.0.0.1:$billing_ops/healthz"
  write_env "$SERVICES_ENV" "BYOK_KEYVAULT_URL=http://127.0.0.1:$keyvault_port" \
    "BYOK_INFERENCE_OPS_URL=http://127.0.0.1:$inference_ops" "BYOK_BILLING_OPS_URL=http://127.0.0.1:$billing_ops" \
    "BYOK_AUTH_JWT_SECRET=$jwt" ${fake:+"BYOK_FAKE_PROVIDERS_URL=$fake"}
  trap - EXIT
  log "services up, each restarted when it dies; coordinates in $SERVICES_ENV, logs in $BYOK_RUN_DIR/<name>.log"
  cmd_status
}

stop_one() {
  local supervisor service
  supervisor="$(running_pid "$BYOK_RUN_DIR/$1.supervisor.pid" "supervise.sh $1")" || true
  service="$(cat "$BYOK_RUN_DIR/$1.pid" 2>/dev/null || true)"
  [[ -n $supervisor ]] && stop_pid "$1 supervisor" "$supervisor" 20
  [[ -n $service ]] && running_pid "$BYOK_RUN_DIR/$1.pid" "$PY" >/dev/null && stop_pid "$1" "$service" 5
  rm -f "$BYOK_RUN_DIR/$1.pid" "$BYOK_RUN_DIR/$1.supervisor.pid"
  [[ -z $supervisor ]] || log "$1 stopped"
}

cmd_down() {
  local name
  for name in inference billing keyvault fake-providers; do stop_one "$name" & done
  wait
  rm -f "$SERVICES_ENV"
}

cmd_status() {
  local name pid restarts
  for name in "${NAMES[@]}"; do
    restarts="$(cat "$BYOK_RUN_DIR/$name.restarts" 2>/dev/null || echo 0)"
    if pid="$(running_pid "$BYOK_RUN_DIR/$name.pid" "$PY")"; then
      echo "$name: running (pid $pid), restarts: ${restarts/ /, last: }"
    elif running_pid "$BYOK_RUN_DIR/$name.supervisor.pid" "supervise.sh $name" >/dev/null; then
      echo "$name: restarting, restarts: ${restarts/ /, last: }"
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
