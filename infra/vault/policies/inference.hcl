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
