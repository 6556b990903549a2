#!/bin/bash
# docker compose, once per `up` (idempotent), as the admin principal (the only super user): the topics of
# infra/kafka/topics.txt, then the ACLs of infra/kafka/acls.txt (the contract's table, "Who may spend a key"),
# with the Kafka CLI: one kafka-acls.sh call per line of the table. Adding an ACL that exists changes nothing.
#   kafka-init.sh --dry-run   prints the kafka-acls.sh arguments instead (tests/unit/test_compose.py)
set -euo pipefail
BIN="${KAFKA_BIN:-/opt/kafka/bin}"
BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
ADMIN="${BYOK_KAFKA_ADMIN_CONFIG:-/tmp/byok-admin.properties}"
CREDENTIALS="${BYOK_KAFKA_CREDENTIALS:-/credentials}"
TOPICS="${BYOK_KAFKA_TOPICS:-/topics.txt}"
ACLS="${BYOK_KAFKA_ACLS:-/acls.txt}"

acl_arguments() { # acls.txt -> one line of kafka-acls.sh arguments per binding line
  local principal operations resource pattern names operation name args
  while read -r principal operations resource pattern names; do
    [[ -z "$principal" || $principal == \#* ]] && continue
    args=(--add --allow-principal "User:$principal" --resource-pattern-type "${pattern,,}")
    for operation in ${operations//,/ }; do operation="${operation,,}" && args+=(--operation "${operation^}"); done
    for name in ${names//,/ }; do args+=("--${resource,,}" "$name"); done
    echo "${args[*]}"
  done <"$1"
}

if [[ "${1:-}" == --dry-run ]]; then
  acl_arguments "${2:-$ACLS}"
  exit 0
fi

(umask 077 && printf '%s\n' security.protocol=SASL_PLAINTEXT sasl.mechanism=SCRAM-SHA-512 \
  "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(tr -d '\n' <"$CREDENTIALS/admin")\";" \
  >"$ADMIN")
grep -v '^#' "$TOPICS" | while read -r name partitions retention cleanup rest; do
  [ -n "$name" ] || continue
  "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor 1 \
    --config retention.ms="$retention" --config cleanup.policy="$cleanup" </dev/null
done
acl_arguments "$ACLS" | while read -r -a args; do
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" "${args[@]}" </dev/null >/dev/null
done
echo "topics and $(acl_arguments "$ACLS" | wc -l) ACL lines in place"
