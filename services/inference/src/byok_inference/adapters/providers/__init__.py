"""Provider adapters over the official async SDKs, and the gateway that picks one per call."""
