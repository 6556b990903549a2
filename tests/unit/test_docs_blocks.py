"""Every code example in the docs is either run by tests/e2e/test_docs_examples.py or says why not."""

from __future__ import annotations

from support.docs_examples import RUNNABLE, blocks, runnable


def test_every_code_example_is_run_or_says_why_not() -> None:
    examples = [b for b in blocks() if b.language in RUNNABLE]
    assert len(examples) >= 10
    for block in examples:
        assert ("title" in block.attrs) != ("norun" in block.attrs), f"{block.id}: title= (run) or norun= (why not)"
        assert block.attrs.get("norun", "x").strip(), block.id
        assert block.language in ("python", "bash"), f"{block.id}: python or bash"
    titles = [b.attrs["title"] for b in runnable()]
    assert len(titles) == len(set(titles)), "titles name the examples: one each"


def test_the_guides_have_examples_that_run() -> None:
    docs = {b.doc for b in runnable()}
    assert {"README.md", "producer.md", "analyst.md", "operations.md"} <= docs
    assert any(b.language == "python" and "ByokClient(" in b.code for b in runnable() if b.doc == "producer.md")
