#!/usr/bin/env bash
# The real local stack on 127.0.0.1, without Docker: Apache Kafka (KRaft), HashiCorp Vault (dev mode,
# built from source), PostgreSQL (Debian package). Downloads and builds are cached in $BYOK_CACHE_DIR.
#
#   stack.sh up       prepare (cached), start all three, bootstrap Vault, create topics,
#                     write $BYOK_RUN_DIR/stack.env (every coordinate the services and tests need)
#   stack.sh down     stop all three (idempotent)
#   stack.sh status
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export BYOK_RUN_DIR="${BYOK_RUN_DIR:-$REPO/.run}"
export BYOK_CACHE_DIR="${BYOK_CACHE_DIR:-$HOME/.cache/byok}"
KAFKA="$REPO/infra/kafka/kafka.sh"
VAULT="$REPO/infra/vault/vault.sh"
PG="$REPO/infra/postgres/pg.sh"

log() { printf '[stack] %s\n' "$*" >&2; }
seconds_since() { echo $(( $(date +%s) - $1 )); }

LAST_PID=""
run_logged() { # name command... : run in the background, output to the run folder; sets LAST_PID
  local name=$1; shift
  ( "$@" >"$BYOK_RUN_DIR/prepare-$name.log" 2>&1 ) &
  LAST_PID=$!
}

wait_for() { # name pid
  if ! wait "$2"; then
    log "ERROR: $1 failed; its output:"
    tail -n 40 "$BYOK_RUN_DIR/prepare-$1.log" >&2
    return 1
  fi
  log "$1 ready"
}

cmd_up() {
  local t0; t0=$(date +%s)
  mkdir -p "$BYOK_RUN_DIR" "$BYOK_CACHE_DIR"
  log "preparing Vault (built from source on a cold cache: several minutes), Kafka jars, PostgreSQL"
  local vault_pid kafka_pid pg_pid
  run_logged vault-build "$REPO/infra/vault/build.sh"; vault_pid=$LAST_PID
  run_logged kafka-fetch "$KAFKA" fetch; kafka_pid=$LAST_PID
  run_logged postgres-install "$PG" ensure-installed; pg_pid=$LAST_PID
  wait_for kafka-fetch "$kafka_pid"
  wait_for postgres-install "$pg_pid"
  # Kafka and PostgreSQL start while Vault may still be building.
  run_logged kafka-start "$KAFKA" start; kafka_pid=$LAST_PID
  run_logged postgres-start "$PG" start; pg_pid=$LAST_PID
  wait_for vault-build "$vault_pid"
  "$VAULT" start-dev
  "$VAULT" bootstrap
  wait_for kafka-start "$kafka_pid"
  wait_for postgres-start "$pg_pid"
  "$KAFKA" create-topics
  {
    echo "# written by infra/local/stack.sh up at $(date -u +%FT%TZ)"
    cat "$BYOK_RUN_DIR/kafka.env" "$BYOK_RUN_DIR/vault.env" "$BYOK_RUN_DIR/postgres.env"
    echo "BYOK_RUN_DIR=$BYOK_RUN_DIR"
  } >"$BYOK_RUN_DIR/stack.env.tmp"
  chmod 600 "$BYOK_RUN_DIR/stack.env.tmp"
  mv "$BYOK_RUN_DIR/stack.env.tmp" "$BYOK_RUN_DIR/stack.env"
  log "up in $(seconds_since "$t0")s; coordinates in $BYOK_RUN_DIR/stack.env, logs in $BYOK_RUN_DIR"
}

cmd_down() {
  rm -f "$BYOK_RUN_DIR/stack.env"
  local rc=0
  "$VAULT" stop || rc=1
  "$KAFKA" stop || rc=1
  "$PG" stop || rc=1
  log "down"
  return $rc
}

cmd_status() {
  "$KAFKA" status || true
  "$VAULT" status || true
  "$PG" status || true
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
