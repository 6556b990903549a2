"""Report aggregation for billing analysts: exact Decimal sums grouped by day, provider, model, key_source."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from typing import Any

from .money import MONEY_CONTEXT, ZERO, money_str

GROUP_KEYS = ("day", "provider", "model", "key_source")
COLUMNS = (
    "events",
    "unpriced",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "provider_cost",
    "charge",
)


@dataclass
class Totals:
    events: int = 0
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    provider_cost: Decimal = field(default=ZERO)
    charge: Decimal = field(default=ZERO)

    def add(self, row: Any) -> None:
        self.events += 1
        self.unpriced += 0 if row.priced else 1
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cache_read_tokens += row.cache_read_tokens
        self.cache_write_tokens += row.cache_write_tokens
        self.provider_cost = MONEY_CONTEXT.add(self.provider_cost, row.provider_cost)
        self.charge = MONEY_CONTEXT.add(self.charge, row.charge)

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: getattr(self, name) for name in COLUMNS}
        values["provider_cost"] = money_str(self.provider_cost)
        values["charge"] = money_str(self.charge)
        return values


def parse_group_by(text: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown or len(set(keys)) != len(keys):
        raise ValueError(f"--group-by takes a comma list of {', '.join(GROUP_KEYS)} (each once)")
    return keys


def _key_value(row: Any, key: str) -> str:
    if key == "day":
        return row.occurred_at.astimezone(UTC).date().isoformat()
    return str(getattr(row, key))


def aggregate(rows: Iterable[Any], group_by: tuple[str, ...]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows grouped and summed (sorted by the group keys), and the grand total."""
    groups: dict[tuple[str, ...], Totals] = {}
    total = Totals()
    for row in rows:
        key = tuple(_key_value(row, k) for k in group_by)
        groups.setdefault(key, Totals()).add(row)
        total.add(row)
    out = [dict(zip(group_by, key, strict=True)) | groups[key].as_dict() for key in sorted(groups)]
    return out, total.as_dict()


def render(rows: list[dict[str, Any]], total: dict[str, Any], group_by: tuple[str, ...], fmt: str) -> str:
    headers = list(group_by) + list(COLUMNS)
    if fmt == "json":
        return json.dumps({"group_by": list(group_by), "rows": rows, "total": total}, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=headers, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt != "table":
        raise ValueError("--format is table, csv or json")
    table = [headers] + [[str(r[h]) for h in headers] for r in rows]
    table.append(
        ["TOTAL"] + [""] * (len(group_by) - 1) + [str(total[c]) for c in COLUMNS]
        if group_by
        else [str(total[c]) for c in COLUMNS]
    )
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    lines = []
    for index, line in enumerate(table):
        lines.append(
            "  ".join(
                cell.rjust(w) if i >= len(group_by) else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if index == 0 or index == len(table) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
