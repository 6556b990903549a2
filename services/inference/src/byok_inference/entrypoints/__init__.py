"""The thin edges: the Kafka consumer loop (parse, call the handler, commit) and the topic followers."""
