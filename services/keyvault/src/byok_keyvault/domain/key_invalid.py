"""Which key.invalid events the key-vault service acts on: only those shaped as the inference worker writes them.

The broker's ACLs decide who may write byok.keys.events at all (only the inference principal besides this
service); this check refuses, on top, any key.invalid that is not in the worker's exact form: the
`byok-producer: inference` header, the `request_id` it adds, an event_id derived from (tenant_id,
request_id), a fingerprint, the KV version it names, and a scope consistent with the user id.
A refused event changes nothing and is kept in the DLQ for operators.
"""

from __future__ import annotations

from collections.abc import Iterable

from byok_events import KeyEvent
from byok_events.keys import INFERENCE_PRODUCER, PRODUCER_HEADER, key_invalid_event_id


def refusal(event: KeyEvent, headers: Iterable[tuple[str, bytes]] | None) -> str | None:
    """Why this key.invalid is not acted on, or None when it is exactly as the worker writes it."""
    producers = [bytes(v) for k, v in headers or () if k == PRODUCER_HEADER]
    if producers != [INFERENCE_PRODUCER.encode()]:
        return f"not written by the inference worker (header {PRODUCER_HEADER})"
    request_id = (event.model_extra or {}).get("request_id")
    if not isinstance(request_id, str) or not request_id:
        return "no request_id"
    if event.event_id != key_invalid_event_id(event.tenant_id, request_id):
        return "event_id does not derive from tenant_id and request_id"
    if isinstance(event.version, bool) or not isinstance(event.version, int) or event.version < 1:
        return "no key version named"
    if not event.fingerprint:
        return "no fingerprint"
    if (event.scope == "user") != bool(event.user_id):
        return "scope and user_id disagree"
    return None
