"""Pure rules of the inference worker: model routing, key precedence, retry delays. No I/O."""
