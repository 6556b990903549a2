"""Helpers shared by the tests (imported as the package `support`: tests/ is on pytest's pythonpath)."""
