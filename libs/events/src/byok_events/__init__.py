"""The wire contract: event models and topic names. Nothing else lives here."""

from . import topics
from .billing import BudgetAlert, Charge
from .common import ByokMode, ErrorCode, KeySource, Money, Provider, Route, UtcDatetime, utc_now
from .dlq import DeadLetter
from .keys import KeyEvent
from .prompts import (
    ContentPart,
    ImagePart,
    Message,
    PromptRequest,
    PromptResponse,
    ResponseError,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from .usage import UsageEvent

__all__ = [
    "topics",
    "BudgetAlert",
    "ByokMode",
    "Charge",
    "DeadLetter",
    "ErrorCode",
    "KeyEvent",
    "KeySource",
    "ContentPart",
    "ImagePart",
    "Message",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "Money",
    "PromptRequest",
    "PromptResponse",
    "Provider",
    "ResponseError",
    "Route",
    "Usage",
    "UsageEvent",
    "UtcDatetime",
    "utc_now",
]
