"""The fault suite's figures, printed as one table when the suite ends and appended to $BYOK_RUN_DIR/faults.md."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .harness import HEADER, REPO, TABLE


@pytest.fixture(scope="package", autouse=True)
def fault_table() -> Iterator[None]:
    yield
    if TABLE:
        text = "\n".join([HEADER, *(figures.row() for figures in TABLE)])
        print("\n\nFault suite figures\n" + text)
        run_dir = os.environ.get("BYOK_RUN_DIR", str(REPO / ".run"))
        with open(os.path.join(run_dir, "faults.md"), "a") as out:
            out.write(text + "\n")
