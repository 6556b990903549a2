"""One adapter per technology: SQL ledger, PostgreSQL fast path, Kafka."""
