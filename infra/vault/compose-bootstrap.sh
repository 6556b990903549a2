#!/bin/sh
# Vault bootstrap for docker-compose (runs in the hashicorp/vault image, vault CLI only).
# Same layout as vault.sh bootstrap: KV v2 at byok/, one policy per service,
# and one token per service with a fixed id that the compose file hands to that service.
set -eu
export VAULT_ADDR="${VAULT_ADDR:-http://vault:8200}"
: "${VAULT_TOKEN:?VAULT_TOKEN (a root or bootstrap token) is needed}"
until vault status >/dev/null 2>&1; do sleep 1; done
vault secrets list | grep -q '^byok/' || vault secrets enable -path=byok -version=2 kv
for service in keyvault inference billing; do
  vault policy write "$service" "/policies/$service.hcl"
  vault token lookup "byok-$service-compose-token" >/dev/null 2>&1 ||
    vault token create -id="byok-$service-compose-token" -policy="$service" -orphan -period=768h >/dev/null
done
echo "vault bootstrap done"
