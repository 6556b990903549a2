# Policy "byok-inference" — the inference service only reads keys it needs to
# call providers and to unseal sealed payloads. No writes, no deletes.
# Paths are the KV v2 API paths of mount "byok" (see keyvault.hcl for the layout).

path "byok/data/tenants/*" {
  capabilities = ["read"]
}
path "byok/data/system/*" {
  capabilities = ["read"]
}
path "byok/data/sealing/private/*" {
  capabilities = ["read"]
}
path "byok/data/sealing/public/*" {
  capabilities = ["read"]
}
# Enumerate sealing key ids (kids).
path "byok/metadata/sealing/*" {
  capabilities = ["list"]
}
# Whether a user or org key exists, without reading it: a prompt without the user's token is refused
# (`unauthorized`) only when a stored key would have been used (contract, "Who may spend a key").
path "byok/metadata/tenants/*" {
  capabilities = ["read"]
}
