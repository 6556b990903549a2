"""The thin edges: the Kafka consumer loop and the command line."""
