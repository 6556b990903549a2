"""Generate docs/asyncapi.yaml, the AsyncAPI document of the wire contract, from the event models.

    .venv/bin/python docs/gen_asyncapi.py          # rewrite docs/asyncapi.yaml
A unit test checks the committed document is what this script generates.
"""

import sys
from pathlib import Path

import yaml
from byok_events import (
    BudgetAlert,
    Charge,
    DeadLetter,
    KeyEvent,
    PromptRequest,
    PromptResponse,
    UsageEvent,
    topics,
)
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

OUTPUT = Path(__file__).with_name("asyncapi.yaml")


def build() -> AsyncAPI:
    broker = KafkaBroker("127.0.0.1:9092", description="byok: bring-your-own-key LLM gateway")

    def document(topic: str, model: type, writer: str, reader: str, description: str) -> None:
        @broker.publisher(
            topic, title=f"{writer}:{topic}", description=f"{description} Written by {writer}.", schema=model
        )
        @broker.subscriber(topic, title=f"{reader}:{topic}", description=f"{description} Read by {reader}.")
        async def _(event: model) -> None:  # type: ignore[valid-type]
            return None

    document(topics.PROMPT_REQUESTS, PromptRequest, "producers", "inference", "A prompt to run; key: request_id.")
    document(topics.PROMPT_RESPONSES, PromptResponse, "inference", "producers", "Outcome and stream deltas.")
    document(topics.USAGE_EVENTS, UsageEvent, "inference", "billing", "Tokens used by one provider call.")
    document(topics.BILLING_CHARGES, Charge, "billing", "analysts", "One priced usage event.")
    document(topics.BILLING_ALERTS, BudgetAlert, "billing", "inference", "A budget threshold crossed.")
    document(topics.KEY_EVENTS, KeyEvent, "keyvault", "inference", "Key lifecycle; never key material.")
    document(topics.DLQ, DeadLetter, "any service", "operators", "A record that could not be processed.")
    return AsyncAPI(
        broker, title="byok wire contract", version="1.0.0", description="Topics and events of byok (docs/contract.md)."
    )


def render() -> str:
    schema = build().to_specification().model_dump(mode="json", by_alias=True, exclude_none=True)
    return yaml.safe_dump(schema, sort_keys=True, allow_unicode=True)


if __name__ == "__main__":
    OUTPUT.write_text(render())
    sys.stdout.write(f"wrote {OUTPUT}\n")
