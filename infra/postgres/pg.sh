#!/usr/bin/env bash
# Local PostgreSQL for byok (the billing ledger), without Docker: a private cluster in the run dir.
#
#   pg.sh ensure-installed   install Debian's postgresql with apt when no server binaries are found
#   pg.sh start              initdb if new, start on 127.0.0.1:<port>, wait with pg_isready, create
#                            role byok (password byok) and database byok_ledger (idempotent), write
#                            $BYOK_RUN_DIR/postgres.env (BYOK_DATABASE_URL, BYOK_POSTGRES_PORT, ...)
#   pg.sh stop               pg_ctl stop -m fast; -m immediate, then SIGKILL, if it hangs (idempotent)
#   pg.sh restart | status | reset (stop and delete the data dir)
#   pg.sh psql [ARGS...]     psql as the superuser on the unix socket (add -d byok_ledger, -c ...)
#
# Environment: BYOK_RUN_DIR (default <repo>/.run), BYOK_POSTGRES_PORT (default: the previous run's
# port when free, else a free one), BYOK_PG_BIN (default: newest /usr/lib/postgresql/*/bin),
# BYOK_POSTGRES_START_TIMEOUT / BYOK_POSTGRES_STOP_TIMEOUT (s, default 60 / 30).
# As root the server runs as the `postgres` system user (initdb and postgres refuse root).
set -euo pipefail
LOG_TAG=postgres
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

RUN_DIR="$BYOK_RUN_DIR"
DB_NAME=byok_ledger
DB_USER=byok
DB_PASSWORD=byok
PG_OS_USER=postgres
ENV_FILE="$RUN_DIR/postgres.env"
LOG_FILE="$RUN_DIR/postgres.log"
PORT_FILE="$RUN_DIR/postgres.port"
START_TIMEOUT="${BYOK_POSTGRES_START_TIMEOUT:-60}"
STOP_TIMEOUT="${BYOK_POSTGRES_STOP_TIMEOUT:-30}"

is_root() { [[ "$(id -u)" == 0 ]]; }

find_pg_bin() {
  if [[ -n "${BYOK_PG_BIN:-}" ]]; then
    [[ -x "$BYOK_PG_BIN/initdb" ]] && echo "$BYOK_PG_BIN" && return 0
    return 1
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | while read -r b; do
    [[ -x "$b/initdb" && -x "$b/pg_ctl" ]] && echo "$b"; done | tail -n 1)"
  [[ -n "$d" ]] && echo "$d"
}

cmd_ensure_installed() {
  if PG_BIN="$(find_pg_bin)"; then
    return 0
  fi
  is_root || die "PostgreSQL server binaries not found and not root: apt-get install -y postgresql"
  log "PostgreSQL not found in /usr/lib/postgresql/*/bin: installing Debian's postgresql (apt)"
  # No default 'main' cluster on port 5432: this stack runs its own cluster in the run dir.
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
  fi
  local t0
  t0="$(now)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q -o Dpkg::Options::=--force-confold postgresql >/dev/null
  PG_BIN="$(find_pg_bin)" || die "apt-get install postgresql did not provide /usr/lib/postgresql/*/bin/initdb"
  log "installed $("$PG_BIN/postgres" --version) in $(elapsed "$t0")"
}

# Run a PostgreSQL program as the cluster's OS user (postgres when we are root).
as_pg() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

ensure_os_user() {
  is_root || return 0
  if ! id "$PG_OS_USER" >/dev/null 2>&1; then
    log "creating system user $PG_OS_USER"
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER"
  fi
}

# The data and socket dirs must be reachable by the postgres user: the run dir is usually under a
# root-owned tree (fine when every parent is world-executable, like /work/...) but not, e.g., under
# /root (mode 700). Then the cluster lives in /tmp/byok-pg-<hash of the run dir> and the run dir
# gets a symlink to it. Unix socket paths are limited to ~107 bytes, so a long run dir moves the
# socket dir to /tmp the same way.
resolve_dirs() {
  local tag
  tag="$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-10)"
  FALLBACK="/tmp/byok-pg-$tag"
  DATA_DIR="$RUN_DIR/pg-data"
  SOCK_DIR="$RUN_DIR/pg-sock"
  if is_root && ! runuser -u "$PG_OS_USER" -- test -x "$RUN_DIR"; then
    DATA_DIR="$FALLBACK/pg-data"
    SOCK_DIR="$FALLBACK/pg-sock"
    [[ -e "$RUN_DIR/pg-data" || -L "$RUN_DIR/pg-data" || ! -d "$RUN_DIR" ]] ||
      ln -s "$DATA_DIR" "$RUN_DIR/pg-data"
  fi
  if ((${#SOCK_DIR} > 90)); then
    SOCK_DIR="$FALLBACK/pg-sock"
  fi
}

prepare_dirs() {
  local d
  for d in "$DATA_DIR" "$SOCK_DIR"; do
    mkdir -p "$d"
    chmod 700 "$d"
    is_root && chown "$PG_OS_USER:" "$d"
  done
  if [[ "$DATA_DIR" == "$FALLBACK"/* || "$SOCK_DIR" == "$FALLBACK"/* ]]; then
    chmod 755 "$FALLBACK"
  fi
  touch "$LOG_FILE"
}

choose_port() {
  local prev=""
  [[ -f "$PORT_FILE" ]] && prev="$(cat "$PORT_FILE")"
  if [[ -n "${BYOK_POSTGRES_PORT:-}" ]]; then
    PORT="$BYOK_POSTGRES_PORT"
    port_free "$PORT" || die "BYOK_POSTGRES_PORT=$PORT is in use on 127.0.0.1"
  elif [[ "$prev" =~ ^[0-9]+$ ]] && port_free "$prev"; then
    PORT="$prev"
  else
    PORT="$(free_port)"
  fi
  echo "$PORT" >"$PORT_FILE"
}

postmaster_pid() { running_pid "$DATA_DIR/postmaster.pid" "$DATA_DIR"; } # its first line is the pid

write_pg_env() {
  write_env "$ENV_FILE" "BYOK_DATABASE_URL=postgresql+psycopg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME" \
    "BYOK_POSTGRES_PORT=$PORT" "BYOK_POSTGRES_DSN=postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
}

log_tail() {
  log "--- last lines of $LOG_FILE (this start) ---"
  tail -c +"$((${LOG_OFFSET:-0} + 1))" "$LOG_FILE" 2>/dev/null | tail -n 30 >&2 || true
}

psql_super() { # psql as the superuser over the unix socket
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK_DIR" -p "$PORT" -U postgres "$@"
}

create_db_and_role() {
  psql_super -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
}

cmd_start() {
  local t0 pid
  t0="$(now)"
  cmd_ensure_installed
  mkdir -p "$RUN_DIR"
  ensure_os_user
  resolve_dirs
  if pid="$(postmaster_pid)"; then
    PORT="$(sed -n 4p "$DATA_DIR/postmaster.pid")"
    create_db_and_role
    write_pg_env
    log "already running (pid $pid) at 127.0.0.1:$PORT"
    return 0
  fi
  prepare_dirs
  choose_port

  if [[ ! -f "$DATA_DIR/PG_VERSION" ]]; then
    log "initdb in $DATA_DIR ($("$PG_BIN/postgres" --version))"
    find "$DATA_DIR" -mindepth 1 -delete # a half-made cluster from an interrupted initdb
    as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions >>"$LOG_FILE" 2>&1 ||
      { tail -n 20 "$LOG_FILE" >&2; die "initdb failed"; }
    cat >>"$DATA_DIR/postgresql.conf" <<EOF

# --- byok local stack (infra/postgres/pg.sh); port and socket dir are given at each start ---
listen_addresses = '127.0.0.1'
password_encryption = 'scram-sha-256'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
EOF
  fi

  LOG_OFFSET="$(stat -c %s "$LOG_FILE")"
  log "starting on 127.0.0.1:$PORT (data $DATA_DIR, log $LOG_FILE)"
  # pg_ctl -w polls postmaster.pid until the server accepts connections (or exits: it notices).
  # The server log is the inherited stdout/stderr, opened here (not by the postgres user, who may
  # not be able to reach the run dir); pg_ctl puts the server in its own session.
  if ! (only_env && as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -w -t "$START_TIMEOUT" -s \
      -o "-p $PORT -k $SOCK_DIR -c listen_addresses=127.0.0.1" start >>"$LOG_FILE" 2>&1); then
    log_tail
    die "server did not start within ${START_TIMEOUT}s"
  fi
  local deadline=$((SECONDS + 15))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres; do
    if ((SECONDS >= deadline)); then
      log_tail
      die "pg_isready: 127.0.0.1:$PORT not accepting connections"
    fi
    sleep 0.1
  done
  create_db_and_role
  write_pg_env
  log "ready at 127.0.0.1:$PORT in $(elapsed "$t0") (pid $(postmaster_pid || echo ?)); env: $ENV_FILE"
}

cmd_stop() {
  PG_BIN="$(find_pg_bin)" || { log "not installed, nothing to stop"; return 0; }
  resolve_dirs
  local pid t0
  if ! pid="$(postmaster_pid)"; then
    rm -f "$ENV_FILE"
    log "not running"
    return 0
  fi
  t0="$(now)"
  log "stopping (pid $pid)"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t "$STOP_TIMEOUT" -s stop; then
    log "fast shutdown timed out: immediate shutdown"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m immediate -w -t 10 -s stop ||
      { log "still running: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$ENV_FILE"
  log "stopped in $(elapsed "$t0")"
}

cmd_status() {
  PG_BIN="$(find_pg_bin)" || { echo "postgres: not installed"; return 3; }
  resolve_dirs
  local pid
  if pid="$(postmaster_pid)"; then
    PORT="$(sed -n 4p "$DATA_DIR/postmaster.pid")"
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
      echo "postgres: running (pid $pid), ready at 127.0.0.1:$PORT"
    else
      echo "postgres: running (pid $pid) at 127.0.0.1:$PORT but not accepting connections"
    fi
    return 0
  fi
  echo "postgres: not running"
  return 3
}

cmd_psql() {
  PG_BIN="$(find_pg_bin)" || die "not installed"
  resolve_dirs
  postmaster_pid >/dev/null || die "not running: run '$0 start' first"
  PORT="$(sed -n 4p "$DATA_DIR/postmaster.pid")"
  if is_root; then
    cd / && exec runuser -u "$PG_OS_USER" -- "$PG_BIN/psql" -X -h "$SOCK_DIR" -p "$PORT" -U postgres "$@"
  fi
  exec "$PG_BIN/psql" -X -h "$SOCK_DIR" -p "$PORT" -U postgres "$@"
}

cmd_reset() {
  cmd_stop
  resolve_dirs
  log "deleting $DATA_DIR"
  rm -rf "$DATA_DIR" "$RUN_DIR/pg-data"
}

case "${1:-}" in
  ensure-installed) cmd_ensure_installed; log "using $PG_BIN" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  psql) shift; cmd_psql "$@" ;;
  reset) cmd_reset ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
