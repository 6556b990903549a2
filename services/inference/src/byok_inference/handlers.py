"""The use case: run one prompt request and publish its outcome. Reads like the contract's rules."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from byok_core.fingerprint import Fingerprints
from byok_core.vault import VaultError
from byok_events import (
    ErrorCode,
    KeyEvent,
    KeySource,
    PromptRequest,
    PromptResponse,
    Provider,
    ResponseError,
    Route,
    Usage,
    UsageEvent,
    utc_now,
)
from byok_events.ids import DerivedIds
from byok_events.keys import key_invalid_event_id
from byok_sealing import SealedKeyInvalid

from .domain.calls import Completion, FailureKind, ProviderCall, ProviderFailure, TokenUsage
from .domain.keys import KeySlot, key_slots, missing_key_error
from .domain.retry import RetryPolicy
from .domain.routing import UnknownModel, openrouter_model_id, route_model
from .ports import (
    AnsweredRequests,
    BudgetGuard,
    KeyStore,
    KeyStoreUnavailable,
    PriceCheck,
    ProviderGateway,
    Publisher,
    Scope,
    SealedKeyOpener,
    StoredKey,
    UserAuthority,
)

log = logging.getLogger("byok.inference")
T = TypeVar("T")

USAGE_NAMESPACE = uuid.UUID("6f3b1c52-3a8e-4f0c-9d59-2f7f4f7b9a10")
_usage_ids = DerivedIds(USAGE_NAMESPACE)


def usage_event_id(tenant_id: str, request_id: str) -> str:
    """One provider call per request, so the request (tenant_id, request_id) determines the usage event id:
    a retried publish, a redelivered request or a second worker produce the same id and billing charges it
    once; another tenant's request with the same request id gets another event id and is charged too."""
    return _usage_ids("usage", tenant_id, request_id)


@dataclass
class Deps:
    keys: KeyStore
    sealed: SealedKeyOpener
    providers: ProviderGateway
    publisher: Publisher
    answered: AnsweredRequests
    budgets: BudgetGuard
    prices: PriceCheck | None = None  # None: no price check (unit tests of other rules only)
    authority: UserAuthority | None = None  # None: BYOK_INFERENCE_USER_AUTH=off, the event's ids are trusted
    provider_retry: RetryPolicy = field(default_factory=RetryPolicy)
    key_store_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=3, base_delay=0.2))
    default_max_tokens: int = 1024
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    fingerprints: Fingerprints = field(default_factory=Fingerprints.ephemeral)  # keyed; main loads it from Vault


class _Failed(Exception):
    def __init__(self, code: ErrorCode, message: str, retriable: bool = False) -> None:
        super().__init__(message)
        self.code, self.message, self.retriable = code, message, retriable


@dataclass
class _Chosen:
    slot: KeySlot
    key: StoredKey


class _Authority:
    """The user's authority over stored keys, asked at most once per request and only when needed."""

    def __init__(self, request: PromptRequest, token: str | None, deps: Deps) -> None:
        self._request, self._token, self._deps = request, token, deps
        self._allowed: bool | None = None

    async def allows(self) -> bool:
        if self._deps.authority is None:
            return True
        if self._allowed is None:
            self._allowed = await self._deps.authority.allows(
                self._token, self._request.tenant_id, self._request.user_id
            )
        return self._allowed


async def handle_prompt(request: PromptRequest, deps: Deps, user_token: str | None = None) -> bool:
    """Run a request unless it is already answered. True when this call published the final answer.

    `user_token` is the `byok-user-token` header: the user's authority to spend stored keys."""
    if not deps.answered.claim(request.tenant_id, request.request_id):
        log.info("duplicate request skipped")
        return False
    answered = False
    try:
        await _run(request, deps, _Authority(request, user_token, deps))
        answered = True
        return True
    finally:
        deps.answered.finish(request.tenant_id, request.request_id, answered)


async def _run(request: PromptRequest, deps: Deps, authority: _Authority) -> None:
    context: dict[str, object] = {}
    try:
        if deps.budgets.blocked(request.tenant_id):
            raise _Failed(ErrorCode.BUDGET_EXCEEDED, "the tenant's hard budget is exhausted for this period")
        try:
            provider, model = route_model(request.model)
        except UnknownModel:
            raise _Failed(ErrorCode.UNKNOWN_MODEL, "no provider serves this model") from None
        chosen = await _resolve_key(request, provider, deps, authority)
        slot = chosen.slot
        sent_model = model if slot.route is Route.DIRECT else openrouter_model_id(provider, model)
        context = {
            "provider": slot.key_provider,
            "model": sent_model,
            "route": slot.route,
            "key_source": slot.source,
            "key_version": chosen.key.version,
        }
        if slot.source is KeySource.SYSTEM and deps.prices is not None:
            if not deps.prices.has_price(slot.key_provider.value, sent_model, utc_now()):
                # platform spend is never unpriced: refused before any provider call
                raise _Failed(ErrorCode.MODEL_NOT_PRICED, "no price is known for this model on the platform's key")
        call = ProviderCall(
            provider=slot.key_provider,
            model=sent_model,
            api_key=chosen.key.api_key,
            messages=call_messages(request),
            max_tokens=request.max_tokens or deps.default_max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=[request.stop] if isinstance(request.stop, str) else request.stop,
            tools=[t.model_dump(exclude_none=True) for t in request.tools] if request.tools else None,
            tool_choice=_tool_choice(request),
            reasoning_effort=request.reasoning_effort,
            reuse_client=slot.source is not KeySource.REQUEST,
        )
        completion = await _call_with_retries(request, call, context, deps)
    except _Failed as failed:
        await deps.publisher.response(
            PromptResponse(
                request_id=request.request_id,
                tenant_id=request.tenant_id,
                status="failed",
                error=ResponseError(code=failed.code, message=failed.message, retriable=failed.retriable),
                metadata=request.metadata,
                **context,
            ),
            partition=request.reply_partition,
        )
        return
    # The usage event is acknowledged before the answer is sent. The other order loses a charge: a worker
    # killed between the answer's ack and the usage's leaves a request that is answered (so never run again)
    # and never billed. This order at worst runs it again and publishes the same usage event_id, which
    # billing charges once (the fault suite's kill -9 and rebalance scenarios check it).
    await _publish_usage(request, context, completion.usage, deps)
    await deps.publisher.response(
        PromptResponse(
            request_id=request.request_id,
            tenant_id=request.tenant_id,
            status="completed",
            output_text=completion.text,
            finish_reason=completion.finish_reason,
            usage=_usage_model(completion.usage),
            **_agent_fields(completion, request),
            **context,
        ),
        partition=request.reply_partition,
    )


async def _resolve_key(request: PromptRequest, provider: Provider, deps: Deps, authority: _Authority) -> _Chosen:
    for slot in key_slots(request.byok_mode, provider):
        key = await _lookup(request, slot, deps, authority)
        if key is not None:
            return _Chosen(slot, key)
    code = missing_key_error(request.byok_mode)
    message = (
        "byok_mode require: no user-side key for this provider or OpenRouter"
        if code is ErrorCode.BYOK_KEY_REQUIRED
        else "no key available for this provider"
    )
    raise _Failed(code, message)


async def _lookup(request: PromptRequest, slot: KeySlot, deps: Deps, authority: _Authority) -> StoredKey | None:
    if slot.source is KeySource.REQUEST:
        sealed = (request.sealed_keys or {}).get(slot.key_provider)
        if sealed is None:
            return None
        try:
            opened = await _with_key_store_retries(
                lambda: deps.sealed.open(
                    sealed,
                    tenant_id=request.tenant_id,
                    request_id=request.request_id,
                    provider=slot.key_provider.value,
                    created_at=request.created_at,
                ),
                deps,
            )
        except SealedKeyInvalid as exc:
            raise _Failed(ErrorCode.SEALED_KEY_INVALID, str(exc)) from None
        return StoredKey(opened)
    if slot.source is KeySource.USER and not request.user_id:
        return None
    scope = cast(Scope, slot.source.value)
    if slot.source is not KeySource.SYSTEM and deps.authority is not None and not await authority.allows():
        # Without the user's authority a stored key is never read, and never silently replaced by a
        # system key: only its existence (metadata) is asked, to know whether it would have been used.
        if await _with_key_store_retries(
            lambda: deps.keys.exists(scope, request.tenant_id, request.user_id, slot.key_provider), deps
        ):
            raise _Failed(ErrorCode.UNAUTHORIZED, "a stored key needs the user's token (header byok-user-token)")
        return None
    try:  # the first attempt without the retry helper's closure: several lookups run on every prompt
        return await deps.keys.get(scope, request.tenant_id, request.user_id, slot.key_provider)
    except KeyStoreUnavailable:
        pass
    return await _with_key_store_retries(
        lambda: deps.keys.get(scope, request.tenant_id, request.user_id, slot.key_provider),
        deps,
        failed_once=True,
    )


async def _with_key_store_retries(operation: Callable[[], Awaitable[T]], deps: Deps, failed_once: bool = False) -> T:
    """`operation()`, retried while the key store is unavailable (`failed_once`: a first attempt just failed)."""
    attempt = 1
    while True:
        if failed_once:
            failed_once = False
        else:
            try:
                return await operation()
            except KeyStoreUnavailable:
                pass
        delay = deps.key_store_retry.delay(attempt, None)
        if delay is None:
            raise _Failed(ErrorCode.KEY_STORE_UNAVAILABLE, "the key store is unavailable", retriable=True)
        log.warning("key store unavailable, retrying", extra={"attempt": attempt})
        await deps.sleep(delay)
        attempt += 1


async def _call_with_retries(
    request: PromptRequest, call: ProviderCall, context: dict[str, object], deps: Deps
) -> Completion:
    streamed = False

    async def on_delta(text: str, tool_calls: list[dict[str, Any]] | None = None) -> None:
        nonlocal streamed
        streamed = True
        await deps.publisher.response(
            PromptResponse(
                request_id=request.request_id,
                tenant_id=request.tenant_id,
                status="delta",
                output_text=text,
                tool_call_deltas=tool_calls,  # type: ignore[arg-type]  # validated as ToolCallDelta models
                **context,
            ),
            partition=request.reply_partition,
        )

    attempt = 1
    while True:
        try:
            return await deps.providers.complete(call, on_delta if request.stream else None)
        except ProviderFailure as failure:
            if failure.usage is not None and failure.usage.used:
                await _publish_usage(request, context, failure.usage, deps)
                streamed = True  # tokens were used: never call again for this request
            delay = deps.provider_retry.delay(attempt, failure.retry_after) if failure.kind.retriable else None
            if delay is None or streamed:
                await _raise_for(request, call, context, failure, deps)
            log.info(
                "provider call failed, retrying",
                extra={"attempt": attempt, "kind": failure.kind.value, "status": failure.status},
            )
            await deps.sleep(delay)  # type: ignore[arg-type]
            attempt += 1


async def _raise_for(
    request: PromptRequest,
    call: ProviderCall,
    context: dict[str, object],
    failure: ProviderFailure,
    deps: Deps,
) -> None:
    source = context["key_source"]
    if failure.kind is FailureKind.UNSUPPORTED:
        raise _Failed(ErrorCode.INVALID_REQUEST, str(failure))
    if failure.kind is FailureKind.FORBIDDEN:
        if source is KeySource.SYSTEM:
            log.error(
                "the platform's provider key was refused this call (403)", extra={"provider": call.provider.value}
            )
            raise _Failed(ErrorCode.PROVIDER_ERROR, "the provider refused the platform key this call (403)")
        # valid key, not allowed this model, region or feature: no fallback, and the key stays active
        raise _Failed(ErrorCode.KEY_FORBIDDEN, f"the provider refused the {source} key this model or feature (403)")
    if failure.kind is FailureKind.AUTH:
        if source is KeySource.SYSTEM:
            log.error("the platform's provider key was rejected", extra={"provider": call.provider.value})
            raise _Failed(ErrorCode.PROVIDER_ERROR, "the provider rejected the platform key")
        if source in (KeySource.USER, KeySource.ORG):
            await deps.publisher.key_event(
                KeyEvent(
                    event_id=key_invalid_event_id(request.tenant_id, request.request_id),
                    type="key.invalid",
                    tenant_id=request.tenant_id,
                    user_id=request.user_id if source is KeySource.USER else None,
                    scope="user" if source is KeySource.USER else "org",
                    provider=call.provider,
                    fingerprint=await _fingerprint(call.api_key, deps),
                    # the key-vault service marks exactly this version; a key rotated meanwhile stays active
                    version=context.get("key_version"),  # type: ignore[arg-type]
                    request_id=request.request_id,  # type: ignore[call-arg]  # an added field (extra allowed)
                )
            )
        raise _Failed(ErrorCode.INVALID_USER_KEY, f"the provider rejected the {source} key")
    code, retriable = {
        FailureKind.RATE_LIMITED: (ErrorCode.PROVIDER_RATE_LIMITED, True),
        FailureKind.SERVER: (ErrorCode.PROVIDER_ERROR, True),
        FailureKind.TIMEOUT: (ErrorCode.PROVIDER_TIMEOUT, True),
        FailureKind.BAD_REQUEST: (ErrorCode.PROVIDER_ERROR, False),
    }[failure.kind]
    raise _Failed(code, str(failure), retriable)


async def _fingerprint(api_key: str, deps: Deps) -> str | None:
    """The keyed fingerprint of a rejected key; None when its secret cannot be read (the event still goes)."""
    try:
        return await deps.fingerprints.of(api_key)
    except (VaultError, LookupError) as exc:
        log.warning("key.invalid without a fingerprint: %s", type(exc).__name__)
        return None


async def _publish_usage(request: PromptRequest, context: dict[str, object], usage: TokenUsage, deps: Deps) -> None:
    if not usage.used:
        return
    source = context["key_source"]
    await deps.publisher.usage(
        UsageEvent(
            event_id=usage_event_id(request.tenant_id, request.request_id),
            request_id=request.request_id,
            tenant_id=request.tenant_id,
            user_id=request.user_id,
            provider=context["provider"],
            model=context["model"],
            route=context["route"],  # type: ignore[arg-type]
            key_source=source,
            byok=source is not KeySource.SYSTEM,  # type: ignore[arg-type]
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            metadata=request.metadata,
            occurred_at=utc_now(),
        )
    )


def _usage_model(usage: TokenUsage) -> Usage:
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )


def _agent_fields(completion: Completion, request: PromptRequest) -> dict[str, Any]:
    """The optional fields of a completed response, only those present (plain text: none to validate)."""
    fields: dict[str, Any] = {}
    if completion.tool_calls:
        fields["tool_calls"] = completion.tool_calls
    if completion.dropped_params:
        fields["dropped_params"] = list(completion.dropped_params)
    if request.metadata is not None:
        fields["metadata"] = request.metadata
    return fields


_MESSAGE_FIELDS = {"role", "content", "tool_calls", "tool_call_id"}


def call_messages(request: PromptRequest) -> list[dict[str, Any]]:
    """The request's messages as plain Chat Completions dicts; plain text ones without a model dump."""
    out: list[dict[str, Any]] = []
    for m in request.messages:
        content = m.content
        if isinstance(content, str) and m.role != "tool" and not m.tool_calls:
            out.append({"role": m.role, "content": content})
        else:
            out.append(m.model_dump(include=_MESSAGE_FIELDS, exclude_none=True))
    return out


def _tool_choice(request: PromptRequest) -> str | dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None or isinstance(choice, str):
        return choice
    return choice.model_dump()
