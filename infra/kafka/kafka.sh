#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM) for byok, without Docker.
#
#   kafka.sh fetch          resolve the broker jars from Maven Central into the cache (once)
#   kafka.sh start          fetch if needed, format storage if new, start, wait until ready,
#                           write $BYOK_RUN_DIR/kafka.env (BYOK_KAFKA_BOOTSTRAP=127.0.0.1:<port>)
#   kafka.sh create-topics  create the topics of topics.txt (idempotent)
#   kafka.sh list-topics    topic names and partition counts
#   kafka.sh stop           SIGTERM, wait, SIGKILL after BYOK_KAFKA_STOP_TIMEOUT (idempotent)
#   kafka.sh restart | status | reset (stop and delete the data dir)
#   kafka.sh tool CLASS ARGS...   run a Kafka CLI class with the cached jars, e.g.
#       kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BYOK_KAFKA_BOOTSTRAP" --list
#
# Environment: BYOK_RUN_DIR (default <repo>/.run), BYOK_CACHE_DIR (default ~/.cache/byok),
# BYOK_KAFKA_PORT / BYOK_KAFKA_CONTROLLER_PORT (default: the previous run's ports when free, else
# free ones), BYOK_KAFKA_VERSION (default 3.9.2; a 3.x), BYOK_KAFKA_HEAP_OPTS,
# BYOK_KAFKA_START_TIMEOUT (s, default 120), BYOK_KAFKA_STOP_TIMEOUT (s, default 30),
# BYOK_KAFKA_ADMIN=jvm to create topics with TopicCommand instead of the stdlib-Python client.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KAFKA_VERSION="${BYOK_KAFKA_VERSION:-3.9.2}"
RUN_DIR="${BYOK_RUN_DIR:-$REPO/.run}"
CACHE_DIR="${BYOK_CACHE_DIR:-$HOME/.cache/byok}"
KAFKA_HOME="$CACHE_DIR/kafka/$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"
DATA_DIR="$RUN_DIR/kafka-data"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_FILE="$RUN_DIR/kafka.log"      # broker log (log4j)
OUT_FILE="$RUN_DIR/kafka.out"      # JVM stdout/stderr (crashes before logging starts)
ENV_FILE="$RUN_DIR/kafka.env"
PORTS_FILE="$RUN_DIR/kafka.ports"  # ports of the last start, reused when still free
PROPS="$RUN_DIR/kafka-server.properties"
TOPICS_FILE="${BYOK_KAFKA_TOPICS_FILE:-$HERE/topics.txt}"
START_TIMEOUT="${BYOK_KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${BYOK_KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${BYOK_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}s')" "$1" "$(now)"; }

# ---------------------------------------------------------------------------------------------
# fetch
pom_hash() { { cat "$HERE/pom.xml"; echo "$KAFKA_VERSION"; } | sha256sum | cut -c1-16; }

libs_complete() {
  [[ -f "$KAFKA_HOME/libs.ok" && "$(cat "$KAFKA_HOME/libs.ok")" == "$(pom_hash)" ]] &&
    compgen -G "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null
}

cmd_fetch() {
  if libs_complete; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  command -v "$JAVA" >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"
  mkdir -p "$KAFKA_HOME"
  local t0 tmp
  t0="$(now)"
  tmp="$KAFKA_HOME/libs.tmp.$$"
  rm -rf "$tmp"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS (first time only)"
  if ! mvn -B -q -f "$HERE/pom.xml" \
      -Dmaven.repo.local="$CACHE_DIR/m2" \
      -Dkafka.version="$KAFKA_VERSION" \
      -DoutputDirectory="$tmp" \
      dependency:copy-dependencies >"$KAFKA_HOME/fetch.log" 2>&1; then
    tail -n 40 "$KAFKA_HOME/fetch.log" >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (log: $KAFKA_HOME/fetch.log)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_hash >"$KAFKA_HOME/libs.ok"
  log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
# process helpers
# shellcheck source=../local/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../local/ports.sh"

running_pid() { # prints the broker pid when our broker runs
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against a recycled pid: it must be a kafka.Kafka JVM on our properties file
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

choose_ports() {
  local prev_port="" prev_cport=""
  if [[ -f "$PORTS_FILE" ]]; then
    read -r prev_port prev_cport <"$PORTS_FILE" || true
  fi
  if [[ -n "${BYOK_KAFKA_PORT:-}" ]]; then
    PORT="$BYOK_KAFKA_PORT"
    port_free "$PORT" || die "BYOK_KAFKA_PORT=$PORT is in use on 127.0.0.1"
  elif [[ -n "$prev_port" ]] && port_free "$prev_port"; then
    PORT="$prev_port"
  else
    PORT="$(free_port)"
  fi
  if [[ -n "${BYOK_KAFKA_CONTROLLER_PORT:-}" ]]; then
    CPORT="$BYOK_KAFKA_CONTROLLER_PORT"
    port_free "$CPORT" || die "BYOK_KAFKA_CONTROLLER_PORT=$CPORT is in use on 127.0.0.1"
  elif [[ -n "$prev_cport" && "$prev_cport" != "$PORT" ]] && port_free "$prev_cport"; then
    CPORT="$prev_cport"
  else
    CPORT="$(free_port)"
    while [[ "$CPORT" == "$PORT" ]]; do CPORT="$(free_port)"; done
  fi
  echo "$PORT $CPORT" >"$PORTS_FILE"
}

write_props() {
  cat >"$PROPS" <<EOF
# Generated by infra/kafka/kafka.sh on $(date -u +%FT%TZ); rewritten at every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=12
group.initial.rebalance.delay.ms=0
log.retention.hours=168
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
}

log_tail() {
  log "--- last lines of $LOG_FILE (this start) ---"
  tail -c +"$((${LOG_OFFSET:-0} + 1))" "$LOG_FILE" 2>/dev/null | tail -n 40 >&2 || true
  if (($(stat -c %s "$OUT_FILE" 2>/dev/null || echo 0) > ${OUT_OFFSET:-0})); then
    log "--- last lines of $OUT_FILE (this start) ---"
    tail -c +"$((${OUT_OFFSET:-0} + 1))" "$OUT_FILE" | tail -n 20 >&2 || true
  fi
}

write_env() {
  local tmp="$ENV_FILE.tmp.$$"
  {
    echo "BYOK_KAFKA_BOOTSTRAP=127.0.0.1:$PORT"
    echo "BYOK_KAFKA_PORT=$PORT"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------------------------
cmd_start() {
  local t0 pid
  t0="$(now)"
  mkdir -p "$RUN_DIR"
  if pid="$(running_pid)"; then
    read -r PORT CPORT <"$PORTS_FILE"
    write_env
    log "already running (pid $pid) at 127.0.0.1:$PORT"
    return 0
  fi
  cmd_fetch
  command -v "$JAVA" >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"
  choose_ports
  write_props

  if [[ ! -f "$DATA_DIR/meta.properties" ]]; then
    local cluster_id
    # A Kafka Uuid is 16 random bytes, base64url without padding (what `StorageTool random-uuid`
    # prints); made here to save a JVM start.
    # Like Kafka's Uuid.randomUuid: never starting with '-', which the tool would read as an option.
    cluster_id="$(python3 -c '
import base64, os
while True:
    candidate = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not candidate.startswith("-"):
        print(candidate)
        break
')"
    log "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id)"
    mkdir -p "$DATA_DIR"
    "$JAVA" -Xmx256m -Dlog4j.configuration="file:$HERE/tools-log4j.properties" -cp "$LIBS/*" \
      kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$PROPS" >>"$OUT_FILE" 2>&1 ||
      { tail -n 20 "$OUT_FILE" >&2; die "storage format failed"; }
  fi

  # Class-data sharing: the first run records the classes it loaded into an archive when it exits
  # (graceful stop), later starts map it and come up about a second sooner. The archive is keyed
  # by the java binary; a stale or broken one only makes the JVM warn and start without it.
  local cds_opts java_key
  java_key="$(stat -L -c '%i-%Y' "$(command -v "$JAVA")" 2>/dev/null || echo x)"
  CDS_ARCHIVE="$KAFKA_HOME/kafka-cds-$java_key.jsa"
  if [[ -s "$CDS_ARCHIVE" ]]; then
    cds_opts="-XX:SharedArchiveFile=$CDS_ARCHIVE -Xlog:cds=off,cds+dynamic=off"
  else
    cds_opts="-XX:ArchiveClassesAtExit=$RUN_DIR/kafka-cds.jsa.tmp -Xlog:cds=off,cds+dynamic=off"
    echo "$CDS_ARCHIVE" >"$RUN_DIR/kafka-cds.target"
  fi

  LOG_OFFSET=0 OUT_OFFSET=0
  [[ -f "$OUT_FILE" ]] && OUT_OFFSET="$(stat -c %s "$OUT_FILE")"
  [[ -f "$LOG_FILE" ]] && LOG_OFFSET="$(stat -c %s "$LOG_FILE")"
  log "starting broker on 127.0.0.1:$PORT (controller 127.0.0.1:$CPORT), log $LOG_FILE"
  # setsid: own session, so a Ctrl-C in the calling terminal does not reach the broker.
  # shellcheck disable=SC2086
  setsid "$JAVA" $HEAP_OPTS \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$HERE/log4j.properties" \
    -Dbyok.kafka.log="$LOG_FILE" -Dkafka.logs.dir="$RUN_DIR" \
    $cds_opts ${BYOK_KAFKA_JVM_OPTS:-} \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$OUT_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  # Ready = the broker logged "Kafka Server started" in this run AND answers a Metadata request
  # listing itself as a live broker (kafka_admin.py wait).
  local deadline=$((SECONDS + START_TIMEOUT)) size
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail
      rm -f "$PID_FILE"
      die "broker exited during start-up"
    fi
    size="$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)"
    ((size < LOG_OFFSET)) && LOG_OFFSET=0 # rolled over
    if tail -c +"$((LOG_OFFSET + 1))" "$LOG_FILE" 2>/dev/null | grep -q "Kafka Server started" &&
      python3 "$HERE/kafka_admin.py" wait "127.0.0.1:$PORT" --timeout 1 2>/dev/null; then
      break
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      die "broker not ready after ${START_TIMEOUT}s (still running as pid $pid; 'kafka.sh stop' to end it)"
    fi
    sleep 0.2
  done
  write_env
  log "ready at 127.0.0.1:$PORT in $(elapsed "$t0") (pid $pid); env: $ENV_FILE"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE" "$ENV_FILE"
    log "not running"
    return 0
  fi
  local t0
  t0="$(now)"
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "no exit after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE" "$ENV_FILE"
  if [[ -s "$RUN_DIR/kafka-cds.jsa.tmp" && -f "$RUN_DIR/kafka-cds.target" ]]; then
    mv -f "$RUN_DIR/kafka-cds.jsa.tmp" "$(cat "$RUN_DIR/kafka-cds.target")" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/kafka-cds.jsa.tmp" "$RUN_DIR/kafka-cds.target"
  log "stopped in $(elapsed "$t0")"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    read -r PORT CPORT <"$PORTS_FILE"
    if python3 "$HERE/kafka_admin.py" wait "127.0.0.1:$PORT" --timeout 2 2>/dev/null; then
      echo "kafka: running (pid $pid), ready at 127.0.0.1:$PORT"
    else
      echo "kafka: running (pid $pid) at 127.0.0.1:$PORT but not answering"
    fi
    return 0
  fi
  echo "kafka: not running"
  return 3
}

bootstrap() {
  [[ -f "$ENV_FILE" ]] || die "not running (no $ENV_FILE): run '$0 start' first"
  sed -n 's/^BYOK_KAFKA_BOOTSTRAP=//p' "$ENV_FILE"
}

cmd_tool() {
  (($# >= 1)) || die "usage: $0 tool MAIN_CLASS [ARGS...]"
  libs_complete || cmd_fetch
  exec "$JAVA" -Xmx256m -Dlog4j.configuration="file:$HERE/tools-log4j.properties" -cp "$LIBS/*" "$@"
}

cmd_create_topics() {
  local bs t0
  bs="$(bootstrap)"
  t0="$(now)"
  log "creating topics from $TOPICS_FILE on $bs"
  if [[ "${BYOK_KAFKA_ADMIN:-python}" == "jvm" ]]; then
    local name partitions retention cleanup rest args
    while read -r name partitions retention cleanup rest; do
      [[ -z "$name" || "$name" == \#* ]] && continue
      args=(--config "retention.ms=$retention" --config "cleanup.policy=$cleanup")
      for kv in $rest; do [[ "$kv" == \#* ]] && break; args+=(--config "$kv"); done
      "$JAVA" -Xmx256m -Dlog4j.configuration="file:$HERE/tools-log4j.properties" -cp "$LIBS/*" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create --if-not-exists \
        --topic "$name" --partitions "$partitions" --replication-factor 1 "${args[@]}"
    done <"$TOPICS_FILE"
  else
    python3 "$HERE/kafka_admin.py" create-topics "$bs" "$TOPICS_FILE" --timeout 60
  fi
  log "topics done in $(elapsed "$t0")"
}

cmd_list_topics() {
  python3 "$HERE/kafka_admin.py" list "$(bootstrap)"
}

cmd_reset() {
  cmd_stop
  log "deleting $DATA_DIR"
  rm -rf "$DATA_DIR"
}

case "${1:-}" in
  fetch) cmd_fetch; log "jars in $LIBS" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  create-topics) cmd_create_topics ;;
  list-topics) cmd_list_topics ;;
  tool) shift; cmd_tool "$@" ;;
  reset) cmd_reset ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
