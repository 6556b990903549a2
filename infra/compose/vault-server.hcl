# Vault for docker-compose: a real server (not dev mode) with file storage on the vault-data volume,
# so keys and tokens survive restarts. It starts sealed; the vault-init job initialises it once and
# unseals it on every `docker compose up`. Production: TLS on the listener, integrated (raft) storage,
# auto-unseal with a KMS, no unseal key on disk (docs/operations.md).
storage "file" {
  path = "/vault/file"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

api_addr      = "http://vault:8200"
disable_mlock = true
ui            = false
