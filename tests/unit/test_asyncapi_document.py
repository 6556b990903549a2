"""docs/asyncapi.yaml is what docs/gen_asyncapi.py generates from the event models (regenerate when they change)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml
from byok_events import topics

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_asyncapi", DOCS / "gen_asyncapi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_document_is_up_to_date() -> None:
    assert (DOCS / "asyncapi.yaml").read_text() == _generator().render(), "run: .venv/bin/python docs/gen_asyncapi.py"


def test_every_contract_topic_is_documented_with_its_schema() -> None:
    document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(topics.ALL_TOPICS)
    schemas = document["components"]["schemas"]
    assert {"PromptRequest", "PromptResponse", "UsageEvent", "Charge", "KeyEvent", "DeadLetter"} <= set(schemas)
    assert "request_id" in schemas["PromptRequest"]["properties"]
