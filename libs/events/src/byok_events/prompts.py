"""byok.prompt.requests and byok.prompt.responses.

Messages follow the OpenAI Chat Completions shape (the contract's "Agent-grade messages"): content is a
string or a list of text / image_url parts, assistant messages may carry tool_calls, and `tool` messages
answer one of them by tool_call_id. The worker translates this shape to each provider's own API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from .common import ByokMode, ErrorCode, Event, KeySource, Provider, Route, UtcDatetime, utc_now
from .validation import Id, ModelId, ShortText, TokenCount

MAX_MESSAGES = 1_000
MAX_CONTENT_CHARS = 1_000_000
MAX_PARTS = 500
MAX_TOOLS = 128
MAX_TOOL_CALLS = 128
MAX_URL_CHARS = 20_000_000  # a data: URL carries the image itself (the record size limit applies first)
TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # what every provider accepts as a function name
ToolName = Annotated[str, Field(pattern=TOOL_NAME_PATTERN)]


def _is_none(value: object) -> bool:
    return value is None


ReasoningEffort = Literal["low", "medium", "high"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


class CacheControl(BaseModel):
    """An explicit prompt-cache breakpoint after this part (honoured where the provider has one)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["ephemeral"] = "ephemeral"


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT_CHARS)
    cache_control: CacheControl | None = None


class ImageUrl(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_CHARS,
        pattern=r"^(data:image/[A-Za-z0-9.+-]+;base64,|https://)",
        description="data:image/<type>;base64,<data> or an https:// URL",
    )
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["image_url"]
    image_url: ImageUrl
    cache_control: CacheControl | None = None


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(BaseModel):
    name: str = Field(max_length=256)
    arguments: str = Field(max_length=MAX_CONTENT_CHARS, description="The arguments as JSON text")


class ToolCall(BaseModel):
    """A tool call the model asked for (assistant messages, completed responses)."""

    id: str = Field(min_length=1, max_length=65_536, description="Opaque; may carry a provider's signature")
    type: Literal["function"] = "function"
    function: FunctionCall


class ToolCallDelta(BaseModel):
    """One piece of a streamed tool call; pieces with the same index make one call."""

    index: int = Field(ge=0)
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


class Message(BaseModel):
    """One message; the rules across its fields (tool_calls only on assistant, tool_call_id only on tool,
    content null only beside tool_calls) are checked by PromptRequest, in one pass over all messages."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool"] = Field(description="Who speaks")
    content: Annotated[str, Field(max_length=MAX_CONTENT_CHARS)] | list[ContentPart] | None = Field(
        None, description="Text, or a list of text and image_url parts (assistant: may be null with tool_calls)"
    )
    tool_calls: list[ToolCall] | None = Field(None, max_length=MAX_TOOL_CALLS, description="assistant only")
    tool_call_id: str | None = Field(None, min_length=1, max_length=65_536, description="tool only: the call answered")

    def text(self) -> str:
        """The text of this message's content (text parts joined)."""
        content = self.content
        if content is None or isinstance(content, str):
            return content or ""
        return "".join(p.text for p in content if p.type == "text")


class FunctionDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: ToolName
    description: str | None = Field(None, max_length=100_000)
    parameters: dict[str, Any] | None = Field(None, description="JSON Schema of the arguments")


class Tool(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedFunction(BaseModel):
    name: ToolName


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice
Metadata = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[str, Field(max_length=512)]],
    Field(max_length=16),
]


class PromptRequest(Event):
    """A prompt to run (byok.prompt.request/v1). request_id is the idempotency key."""

    schema_: Literal["byok.prompt.request/v1"] = Field(
        "byok.prompt.request/v1", alias="schema", description="Schema name and version"
    )
    request_id: Id = Field(description="Idempotency key; also the record key")
    tenant_id: Id = Field(description="The tenant (org) the request runs for")
    user_id: Id | None = Field(None, description="The end user, when known")
    model: ModelId = Field(description="Model id, optionally provider-prefixed")
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_tokens: TokenCount | None = Field(None, ge=1, le=1_000_000)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: list[str] | str | None = None
    tools: list[Tool] | None = Field(None, max_length=MAX_TOOLS, description="Functions the model may call")
    tool_choice: ToolChoice | None = Field(None, description='"auto" | "none" | "required" | a named function')
    reasoning_effort: ReasoningEffort | None = Field(
        None, description="Mapped to each provider's reasoning or thinking settings"
    )
    metadata: Metadata | None = Field(None, description="Carried to the response and the usage event")
    byok_mode: ByokMode = Field(ByokMode.PREFER, description="disabled | prefer | require")
    sealed_keys: dict[Provider, str] | None = Field(
        None, description="Request-supplied keys sealed to the inference worker, by provider"
    )
    stream: bool = Field(False, description="Also emit delta events")
    reply_partition: StrictInt | None = Field(
        None,
        ge=0,
        le=100_000,
        description="Partition of byok.prompt.responses every response event of this request is written to "
        "(the producer's reply partition); absent: the partition of the request_id key",
    )
    created_at: UtcDatetime | None = None

    @model_validator(mode="after")
    def _agent_shapes(self) -> PromptRequest:
        """The rules across fields, in one pass (the common plain-text request costs one loop)."""
        messages = self.messages
        if self.tools is None and self.tool_choice is None:
            for m in messages:
                if m.content.__class__ is not str or m.role == "tool" or m.tool_calls is not None or m.tool_call_id:
                    break
            else:
                return self  # plain text only
        if isinstance(self.tool_choice, NamedToolChoice):
            names = {t.function.name for t in self.tools or ()}
            if self.tool_choice.function.name not in names:
                raise ValueError("tool_choice names a function that is not in tools")
        elif self.tool_choice == "required" and not self.tools:
            raise ValueError("tool_choice required without tools")
        called: set[str] = set()
        for i, m in enumerate(messages):
            where = f"messages[{i}]"
            if isinstance(m.content, list) and len(m.content) > MAX_PARTS:
                raise ValueError(f"{where}: more than {MAX_PARTS} content parts")
            if m.tool_calls and m.role != "assistant":
                raise ValueError(f"{where}: only assistant messages carry tool_calls")
            if (m.role == "tool") != (m.tool_call_id is not None):
                raise ValueError(f"{where}: a tool message, and only a tool message, carries tool_call_id")
            if m.content is None and not (m.role == "assistant" and m.tool_calls):
                raise ValueError(f"{where}: content is required (null only for an assistant message with tool_calls)")
            if m.tool_calls:
                called.update(c.id for c in m.tool_calls)
            elif m.tool_call_id is not None and m.tool_call_id not in called:
                raise ValueError(f"{where}: a tool message answers a tool_call_id no earlier assistant message made")
        return self


class Usage(BaseModel):
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = Field(0, description="Part of output_tokens (priced as output)")


class ResponseError(BaseModel):
    code: ErrorCode
    message: ShortText
    retriable: bool = False


class PromptResponse(Event):
    """The outcome of a prompt, or one stream delta (byok.prompt.response/v1)."""

    schema_: Literal["byok.prompt.response/v1"] = Field("byok.prompt.response/v1", alias="schema")
    request_id: Id
    tenant_id: Id | Literal[""] = Field(
        description='The tenant; "" only in the failed answer to a request whose tenant_id could not be read'
    )
    status: Literal["completed", "failed", "delta"]
    provider: Provider | None = None
    model: ModelId | None = None
    route: Route | None = None
    key_source: KeySource | None = None
    output_text: str | None = None
    tool_calls: list[ToolCall] | None = Field(
        None, description="completed: the tool calls the model asked for", exclude_if=_is_none
    )
    tool_call_deltas: list[ToolCallDelta] | None = Field(
        None, description="delta: pieces of tool calls", exclude_if=_is_none
    )
    finish_reason: ShortText | None = Field(None, description="stop | length | tool_calls | content_filter | error")
    dropped_params: list[str] | None = Field(
        None, description="completed: sampling settings the provider's API does not take, not sent", exclude_if=_is_none
    )
    usage: Usage | None = None
    metadata: dict[str, str] | None = Field(None, description="the request's metadata", exclude_if=_is_none)
    error: ResponseError | None = None
    completed_at: UtcDatetime = Field(default_factory=utc_now)
