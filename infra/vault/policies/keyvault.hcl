# Policy "byok-keyvault" — the keyvault service owns BYOK key material.
#
# KV v2 mount "byok" (API paths: byok/data/... for values, byok/metadata/...
# for versions/listing, byok/delete/... soft delete, byok/destroy/... hard delete):
#   tenants/<tenant>/users/<user>/<provider>   user provider keys
#   tenants/<tenant>/org/<provider>            org provider keys
#   system/<provider>                          system provider keys
#   sealing/private/<kid>                      sealing key private halves (write-once, never read back)
#   sealing/public/<kid>                       sealing key public halves

# Tenant (user + org) provider keys: full lifecycle.
path "byok/data/tenants/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "byok/metadata/tenants/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "byok/delete/tenants/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}
path "byok/destroy/tenants/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# System provider keys: write and read, no delete.
path "byok/data/system/*" {
  capabilities = ["create", "update", "read"]
}
path "byok/metadata/system/*" {
  capabilities = ["read", "list"]
}

# Sealing keys. Private halves are write-once: "create" only, so keyvault can
# store a new <kid> but can neither read it back nor overwrite it.
path "byok/data/sealing/private/*" {
  capabilities = ["create"]
}
path "byok/data/sealing/public/*" {
  capabilities = ["create", "read", "update", "list"]
}
path "byok/metadata/sealing/*" {
  capabilities = ["create", "read", "update", "list"]
}
