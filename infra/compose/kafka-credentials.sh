#!/bin/sh
# docker compose: one random SCRAM password per Kafka principal, made once (as infra/kafka/kafka.sh does for the
# local stack in SASL mode). All of them in /credentials, for the broker (it adds the SCRAM users when it formats
# its storage) and kafka-init (the admin principal): owned by uid 1000, the apache/kafka image's appuser, 0600.
# Each service's own password alone in /principals/<name>/password (its own volume, mounted by that service
# only; the demo's: producer and analyst), owned by uid 10001, the services' image user (Dockerfile), 0400: no
# container holds another's.
set -eu
umask 077
for name in admin producer analyst byok-keyvault byok-inference byok-billing; do
  [ -s "/credentials/$name" ] || head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"/credentials/$name"
done
chown -R 1000 /credentials
for name in keyvault inference billing producer analyst; do
  principal="byok-$name"
  case $name in producer | analyst) principal="$name" ;; esac
  cp "/credentials/$principal" "/principals/$name/password"
  chown 10001 "/principals/$name/password"
  chmod 0400 "/principals/$name/password"
done
echo "kafka credentials in place"
