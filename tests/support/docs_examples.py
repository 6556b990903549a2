"""The code examples of the docs: fenced blocks of README.md and docs/*.md, with their info-string attributes.

```python title="x.py"   run by tests/e2e/test_docs_examples.py against the running services
```bash norun="why"      not run, with the reason
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUNNABLE = ("python", "bash", "sh", "shell", "console")
_FENCE = re.compile(r"^```([A-Za-z]*)([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Block:
    doc: str
    language: str
    attrs: dict[str, str]
    code: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.attrs.get('title') or self.attrs.get('norun', '?')[:30]}"


def blocks() -> list[Block]:
    found = []
    for path in DOCS:
        for language, info, code in _FENCE.findall(path.read_text()):
            found.append(Block(path.name, language, dict(_ATTR.findall(info)), code))
    return found


def runnable() -> list[Block]:
    return [b for b in blocks() if b.language in RUNNABLE and "title" in b.attrs]
