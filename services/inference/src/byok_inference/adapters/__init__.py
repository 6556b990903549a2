"""Adapters: one file per technology."""
