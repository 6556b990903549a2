"""The inference worker: prompt requests in, provider calls, prompt responses and usage events out."""
