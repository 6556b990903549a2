#!/bin/bash
# docker compose: the Kafka node in SASL mode, as infra/kafka/kafka.sh starts the local one with --sasl.
#   server.properties from the service's KAFKA_* variables (the image's own naming: KAFKA_FOO_BAR -> foo.bar,
#   __ -> _, ___ -> -), plus the inter-broker login of the admin principal (its password from the
#   credentials file, never in the compose file); storage formatted once with the SCRAM-SHA-512 users of every
#   principal (through a java argument file, so no password is on a command line); then the broker.
#   kafka-start.sh --render   writes the configuration and exits (tests/unit/test_compose.py)
# The controller listener is PLAINTEXT on 127.0.0.1 inside the container (the node talks to itself): no other
# container can reach it, so its ANONYMOUS principal (a super user, as in the local stack) serves no client.
set -euo pipefail
KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
CREDENTIALS="${BYOK_KAFKA_CREDENTIALS:-/credentials}"
CONFIG="${BYOK_KAFKA_CONFIG_DIR:-/tmp/byok-kafka}"
PRINCIPALS=(admin producer analyst byok-keyvault byok-inference byok-billing)
NOT_PROPERTIES=" HOME OPTS HEAP_OPTS JVM_PERFORMANCE_OPTS LOG4J_OPTS JMX_OPTS JMX_PORT GC_LOG_OPTS DEBUG "

: "${CLUSTER_ID:?}" "${KAFKA_LISTENERS:?}" "${KAFKA_CONTROLLER_LISTENER_NAMES:?}" "${KAFKA_LOG_DIRS:?}"
for name in "${PRINCIPALS[@]}"; do [[ -s "$CREDENTIALS/$name" ]] || { echo "no password for $name in $CREDENTIALS" >&2; exit 1; }; done

password() { tr -d '\n' <"$CREDENTIALS/$1"; }

render() {
  local name value key scram="org.apache.kafka.common.security.scram.ScramLoginModule"
  while IFS='=' read -r name value; do
    name="${name#KAFKA_}"
    [[ $NOT_PROPERTIES == *" $name "* ]] && continue
    key="$(tr 'A-Z' 'a-z' <<<"$name" | sed 's/___/-/g; s/__/@/g; s/_/./g; s/@/_/g')"
    printf '%s=%s\n' "$key" "$value"
  done < <(env | grep '^KAFKA_[A-Z0-9_]*=' | sort)
  # every client listener's SCRAM login module; the inter-broker one logs in as admin
  for name in $(tr ',' '\n' <<<"$KAFKA_LISTENERS" | sed 's|://.*||' | grep -vx "$KAFKA_CONTROLLER_LISTENER_NAMES"); do
    key="listener.name.$(tr 'A-Z' 'a-z' <<<"$name").scram-sha-512.sasl.jaas.config"
    printf '%s=%s required username="admin" password="%s";\n' "$key" "$scram" "$(password admin)"
  done
  # the healthcheck's client settings (kafka-broker-api-versions.sh --command-config)
  printf '%s\n' security.protocol=SASL_PLAINTEXT sasl.mechanism=SCRAM-SHA-512 \
    "sasl.jaas.config=$scram required username=\"admin\" password=\"$(password admin)\";" >"$CONFIG/admin.properties"
}

umask 077
mkdir -p "$CONFIG"
render >"$CONFIG/server.properties"
[[ "${1:-}" == --render ]] && exit 0

if [[ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]]; then
  {
    printf '%s\n' "-Dlog4j.configuration=file:$KAFKA_HOME/config/tools-log4j.properties" -cp "$KAFKA_HOME/libs/*" \
      kafka.tools.StorageTool format --ignore-formatted -t "$CLUSTER_ID" -c "$CONFIG/server.properties"
    for name in "${PRINCIPALS[@]}"; do
      printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$name,password=$(password "$name")]"
    done
  } >"$CONFIG/format.args"
  java "@$CONFIG/format.args" || { rm -f "$CONFIG/format.args"; exit 1; }
  rm -f "$CONFIG/format.args"
fi
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -server -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
  -Djava.awt.headless=true "-Dlog4j.configuration=file:$KAFKA_HOME/config/log4j.properties" \
  "-Dkafka.logs.dir=${KAFKA_LOG_DIRS%/*}" -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$CONFIG/server.properties"
