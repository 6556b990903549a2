#!/usr/bin/env bash
# The local stack on 127.0.0.1 without Docker: Apache Kafka (KRaft, jars from Maven Central), HashiCorp Vault
# (dev mode, built from source through the Go module proxy), PostgreSQL (Debian's). Caches in $BYOK_CACHE_DIR.
#
#   stack.sh up [--brokers N] [--sasl]
#                               start what is needed, bootstrap Vault, create the topics, write
#                               $BYOK_RUN_DIR/stack.env; N Kafka nodes (default $BYOK_KAFKA_BROKERS or 1);
#                               --sasl: SASL/SCRAM + ACLs, each principal's settings in .run/clients/<name>.env
#   stack.sh down | status
#
# Bring your own: when BYOK_KAFKA_BOOTSTRAP, BYOK_VAULT_ADDR or BYOK_DATABASE_URL is set, that one is not
# started but checked and used: the topics are created when the principal may, and Vault is bootstrapped when
# BYOK_VAULT_ROOT_TOKEN (or BYOK_VAULT_TOKEN) may create mounts, auth methods and policies.
set -euo pipefail
LOG_TAG=stack
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

KAFKA="$INFRA/kafka/kafka.sh"
VAULT="$INFRA/vault/vault.sh"
PG="$INFRA/postgres/pg.sh"

in_background() { # name command...: output to prepare-<name>.log; the pid goes to BG[name]
  local name=$1
  shift
  ("$@" >"$BYOK_RUN_DIR/prepare-$name.log" 2>&1) &
  BG[$name]=$!
}
wait_for() { # name
  wait "${BG[$1]}" || { tail -n 40 "$BYOK_RUN_DIR/prepare-$1.log" >&2; die "$1 failed (log: prepare-$1.log)"; }
  log "$1: $(tail -n 1 "$BYOK_RUN_DIR/prepare-$1.log" | sed 's/^\[[a-z]*\] //')"
}

use_kafka() {
  log "kafka: BYOK_KAFKA_BOOTSTRAP is set: using $BYOK_KAFKA_BOOTSTRAP, not starting one"
  "$PY" "$INFRA/kafka/topics.py" wait --timeout 30 || die "Kafka at $BYOK_KAFKA_BOOTSTRAP does not answer"
  "$PY" "$INFRA/kafka/topics.py" create || die "the topics are missing at $BYOK_KAFKA_BOOTSTRAP"
  write_env "$BYOK_RUN_DIR/kafka.env" "BYOK_KAFKA_BOOTSTRAP=$BYOK_KAFKA_BOOTSTRAP"
}

use_vault() {
  local code
  log "vault: BYOK_VAULT_ADDR is set: using $BYOK_VAULT_ADDR, not starting one"
  code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$BYOK_VAULT_ADDR/v1/sys/health" || true)"
  [[ $code == 200 || $code == 429 ]] || die "Vault at $BYOK_VAULT_ADDR is not ready (sys/health: HTTP $code)"
  write_env "$BYOK_RUN_DIR/vault.env" "BYOK_VAULT_ADDR=$BYOK_VAULT_ADDR"
  if [[ -z "${BYOK_VAULT_ROOT_TOKEN:-}${BYOK_VAULT_TOKEN:-}" ]]; then
    log "vault: no BYOK_VAULT_ROOT_TOKEN nor BYOK_VAULT_TOKEN: not bootstrapped; the services need their own"
  elif "$PY" "$INFRA/vault/bootstrap.py" bootstrap; then
    log "vault: bootstrapped $BYOK_VAULT_ADDR with the token given"
  else
    [[ $? == 3 ]] || die "bootstrapping $BYOK_VAULT_ADDR failed"
    log "vault: used as it is; the services get BYOK_VAULT_TOKEN"
  fi
}

use_database() {
  log "postgres: BYOK_DATABASE_URL is set: using it, not starting one"
  "$PY" "$INFRA/postgres/ping.py" || die "the database of BYOK_DATABASE_URL does not answer"
  write_env "$BYOK_RUN_DIR/postgres.env" "BYOK_DATABASE_URL=$BYOK_DATABASE_URL"
}

cmd_up() {
  local t0 started=()
  declare -A BG
  t0="$(now)"
  need_venv
  mkdir -p "$BYOK_RUN_DIR" "$BYOK_CACHE_DIR"
  rm -f "$BYOK_RUN_DIR/stack.env"
  # What is given is checked first, so that a wrong address fails before anything starts.
  [[ -z "${BYOK_KAFKA_BOOTSTRAP:-}" ]] || use_kafka
  [[ -z "${BYOK_VAULT_ADDR:-}" ]] || use_vault
  [[ -z "${BYOK_DATABASE_URL:-}" ]] || use_database
  # Local servers start in parallel (Vault may need a build of several minutes on a cold cache).
  if [[ -z "${BYOK_KAFKA_BOOTSTRAP:-}" ]]; then in_background kafka "$KAFKA" start "$@"; started+=(kafka); fi
  if [[ -z "${BYOK_DATABASE_URL:-}" ]]; then in_background postgres "$PG" start; started+=(postgres); fi
  if [[ -z "${BYOK_VAULT_ADDR:-}" ]]; then
    in_background vault-build "$INFRA/vault/build.sh"
    wait_for vault-build
    "$VAULT" start-dev
    "$PY" "$INFRA/vault/bootstrap.py" bootstrap
    started+=(vault)
  fi
  [[ -n "${BYOK_DATABASE_URL:-}" ]] || wait_for postgres
  if [[ -z "${BYOK_KAFKA_BOOTSTRAP:-}" ]]; then
    wait_for kafka
    "$KAFKA" create-topics
  fi
  write_env "$BYOK_RUN_DIR/stack.env" "# written by infra/local/stack.sh up at $(date -u +%FT%TZ)" \
    "$(cat "$BYOK_RUN_DIR/kafka.env" "$BYOK_RUN_DIR/vault.env" "$BYOK_RUN_DIR/postgres.env")" \
    "BYOK_RUN_DIR=$BYOK_RUN_DIR" "BYOK_STACK_STARTED=${started[*]}"
  log "up in $(elapsed "$t0") (started here: ${started[*]:-nothing}); coordinates in $BYOK_RUN_DIR/stack.env"
}

cmd_down() {
  local rc=0
  rm -f "$BYOK_RUN_DIR/stack.env"
  "$VAULT" stop || rc=1
  "$KAFKA" stop || rc=1
  "$PG" stop || rc=1
  log "down"
  return $rc
}

case "${1:-}" in
  up) cmd_up "${@:2}" ;;
  down) cmd_down ;;
  status) "$KAFKA" status || true; "$VAULT" status || true; "$PG" status || true ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
