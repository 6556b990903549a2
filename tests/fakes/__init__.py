"""Hand-written fakes of the services' ports, for unit tests (no mocks)."""
