"""Topic names of the wire contract (docs/contract.md)."""

PROMPT_REQUESTS = "byok.prompt.requests"
PROMPT_RESPONSES = "byok.prompt.responses"
USAGE_EVENTS = "byok.usage.events"
BILLING_CHARGES = "byok.billing.charges"
BILLING_ALERTS = "byok.billing.alerts"
KEY_EVENTS = "byok.keys.events"
DLQ = "byok.dlq"

ALL_TOPICS = (
    PROMPT_REQUESTS,
    PROMPT_RESPONSES,
    USAGE_EVENTS,
    BILLING_CHARGES,
    BILLING_ALERTS,
    KEY_EVENTS,
    DLQ,
)
