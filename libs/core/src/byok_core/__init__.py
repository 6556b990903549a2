"""What the services share: settings, logging with redaction, Kafka wiring, Vault access, sealing, ops."""
