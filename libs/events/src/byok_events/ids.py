"""Event ids derived from names: the same name always gives the same id, so consumers de-duplicate."""

from __future__ import annotations

import hashlib
import json
import uuid


class DerivedIds:
    """`ids(*parts)` is `str(uuid.uuid5(namespace, json.dumps(list(parts))))`, at half its cost (it runs on
    every prompt). The JSON list keeps the parts apart whatever they contain: no separator can be forged."""

    def __init__(self, namespace: uuid.UUID) -> None:
        self._namespace = namespace.bytes

    def __call__(self, *parts: str) -> str:
        joined = "".join(parts) if all(type(part) is str for part in parts) else ""  # other types: json.dumps
        if joined and joined.isascii() and joined.isprintable() and '"' not in joined and "\\" not in joined:
            name = '["' + '", "'.join(parts) + '"]'  # what json.dumps writes for such strings
        else:
            name = json.dumps(list(parts))
        h = hashlib.sha1(self._namespace + name.encode(), usedforsecurity=False).digest()[:16].hex()
        # RFC 4122 version 5: the version nibble is 5, the variant's two high bits are 10.
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
