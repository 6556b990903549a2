"""Every regular expression of ours that checks input matches the whole text (fullmatch or \\Z).

`re.match(r"^[a-z]+$", "alice\\n")` succeeds: `$` also matches before a trailing newline. A pattern
ending in an unescaped `$` is therefore refused here, wherever it is (pydantic `pattern=` strings run on
Rust's regex engine, where `$` is the end of the text, and are exempt).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SOURCES = [p for root in ("libs", "services") for p in (REPO / root).glob("*/src/**/*.py")]


def _compiled_patterns(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_the_scan_sees_the_code() -> None:
    assert len(SOURCES) > 50
    assert any(_compiled_patterns(p) for p in SOURCES)


def test_no_python_pattern_ends_in_a_dollar() -> None:
    offenders = [
        f"{p.relative_to(REPO)}:{line}: {pattern!r}"
        for p in SOURCES
        for line, pattern in _compiled_patterns(p)
        if re.search(r"(?<!\\)\$\)*\Z", pattern) or "$)" in pattern or "$|" in pattern
    ]
    assert offenders == []


def test_no_input_check_uses_match_on_an_anchored_pattern() -> None:
    offenders = []
    for p in SOURCES:
        text = p.read_text()
        names = {m.group(1) for m in re.finditer(r"(\w+) = re\.compile\(r?\"\^", text)}
        offenders += [f"{p.relative_to(REPO)}: {n}.match" for n in names if f"{n}.match(" in text]
    assert offenders == []
