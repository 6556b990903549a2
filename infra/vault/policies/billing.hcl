# Policy "byok-billing" — billing has no business with key material.
# Explicit deny (deny wins over any other policy attached to the same token).
path "byok/*" {
  capabilities = ["deny"]
}
