"""Billing consumer: exact, idempotent pricing of usage events into a SQL ledger (GitHub issue 5)."""
