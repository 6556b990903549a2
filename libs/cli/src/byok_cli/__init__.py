"""`byok`: the command line of the gateway for producers, key owners, operators and billing analysts."""
