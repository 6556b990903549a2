#!/bin/sh
# Idempotent Vault init + unseal + bootstrap for docker-compose (hashicorp/vault image, vault CLI only).
#   first run:  operator init (1 key share), keys saved to /vault/init/init.json (mode 0600, own volume)
#   every run:  unseal when sealed, then the bootstrap (mounts, policies, service tokens), all idempotent
# The unseal key next to Vault is a development convenience: production uses auto-unseal (operations.md).
set -eu
export VAULT_ADDR="${VAULT_ADDR:-http://vault:8200}"
INIT=/vault/init/init.json

status() { vault status -format=json 2>/dev/null || true; }
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\}.*/\1/p" | head -n 1; }

until vault status >/dev/null 2>&1 || [ $? -eq 2 ]; do sleep 1; done

if [ "$(status | field initialized)" != "true" ]; then
  umask 077
  vault operator init -key-shares=1 -key-threshold=1 -format=json >"$INIT.tmp"
  mv "$INIT.tmp" "$INIT"
  echo "vault initialised; unseal key and root token in the vault-init volume ($INIT)"
fi
[ -s "$INIT" ] || { echo "vault is initialised but $INIT is missing: unseal it by hand" >&2; exit 1; }

if [ "$(status | field sealed)" = "true" ]; then
  vault operator unseal "$(tr -d '\n ' <"$INIT" | sed -n 's/.*"unseal_keys_b64":\["\([^"]*\)".*/\1/p')" >/dev/null
  echo "vault unsealed"
fi

VAULT_TOKEN="$(tr -d '\n ' <"$INIT" | sed -n 's/.*"root_token":"\([^"]*\)".*/\1/p')"
export VAULT_TOKEN
exec /bin/sh /compose-bootstrap.sh
