"""byok_core.redaction.redact: every secret the platform handles, in every form it may travel in."""

from __future__ import annotations

import base64
import json
import logging
import random
import string
import time
import uuid
import warnings
from urllib.parse import quote, unquote

import jwt
import pytest
from byok_core.logging import JsonFormatter, RedactingFilter
from byok_core.redaction import REDACTED, redact, redact_payload
from byok_events import DeadLetter
from byok_keyvault.domain.formats import FORMATS, normalize_key
from byok_sealing import generate_keypair

rng = random.Random(9)
KEY_CHARS = string.ascii_letters + string.digits + "-_"


def _random(n: int, alphabet: str = KEY_CHARS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def accepted_keys() -> list[tuple[str, str]]:
    """One key of every prefix at the shortest and longest length the key-vault service accepts."""
    keys = []
    for provider, fmt in FORMATS.items():
        for prefix in fmt.prefixes:
            for length in sorted({fmt.min_length, (fmt.min_length + fmt.max_length) // 2, fmt.max_length}):
                key = prefix + _random(length - len(prefix))
                if prefix == "sk-":  # the bare OpenAI prefix: the body must not start like another prefix
                    key = "sk-" + "Q" + key[4:]
                assert normalize_key(provider, key) == key
                keys.append((f"{provider.value}:{prefix}{length}", key))
    return keys


PAIR = generate_keypair()
SECRETS: list[tuple[str, str]] = [
    *accepted_keys(),
    ("vault-service-token", "hvs." + _random(91, string.ascii_letters + string.digits + "_-")),
    ("vault-batch-token", "hvb." + _random(138)),
    ("vault-recovery-token", "hvr." + _random(24)),
    ("vault-legacy-token", "s." + _random(24, string.ascii_letters + string.digits)),
    ("jwt", jwt.encode({"sub": "alice", "tenant": "acme", "exp": 2_000_000_000}, "s" * 32, algorithm="HS256")),
    ("sealing-private-b64url", base64.urlsafe_b64encode(PAIR.private_key).rstrip(b"=").decode()),
    ("sealing-private-b64", base64.b64encode(PAIR.private_key).decode()),
    ("sealed-key", "byok-seal-v1.kid1." + _random(43) + "." + _random(80)),
]
SECRET_IDS = [str(uuid.uuid4()) for _ in range(3)]


def _contexts(secret: str) -> list[str]:
    return [
        secret,
        f"provider said 401 for {secret}: unauthorized",
        json.dumps({"msg": "call failed", "detail": {"apiKey": secret}, "n": 3}),
        f"Authorization: Bearer {secret}",
        f"line one\\n{secret}\\nline three",  # as it appears inside JSON text
    ]


def _u_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _forms(text: str) -> dict[str, str]:
    raw = text.encode()
    return {
        "plain": text,
        "json-dumps": json.dumps(text),
        "json-u-escaped": json.dumps({"payload": "x"}).replace('"x"', '"' + _u_escaped(text) + '"'),
        "json-u-escaped-upper": _u_escaped(text).upper().replace("\\U", "\\u"),
        "json-slash-escaped": json.dumps(text).replace("/", "\\/"),
        "base64": base64.b64encode(raw).decode(),
        "base64-in-text": "payload=" + base64.b64encode(b'{"k": "' + raw + b'"}').decode() + " end",
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "base64-of-base64": base64.b64encode(base64.b64encode(raw)).decode(),
        "url-quoted": quote(text, safe=""),
        "url-every-byte": "".join(f"%{b:02X}" for b in raw),
        "url-in-query": "https://api.example.com/v1?key=" + quote(text, safe="") + "&x=1",
    }


def _leaks(secret: str, output: str) -> bool:
    """Whether the secret can be read back from `output` by any decoding the forms use."""
    candidates = [output, unquote(output)]
    try:
        candidates.append(json.loads(output) if output.startswith('"') else output)
    except ValueError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "\/" and friends are not Python escapes
        candidates.append(output.encode().decode("unicode_escape", errors="ignore"))
    for token in output.replace("=", " = ").replace("&", " ").split():
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                once = decoder(token + "=" * (-len(token) % 4)).decode("latin-1")
                candidates.append(once)
                candidates.append(decoder(once + "=" * (-len(once) % 4)).decode("latin-1"))
            except ValueError:
                continue
    core = secret.split(".", 1)[-1] if secret.startswith(("hv", "s.", "byok-seal")) else secret
    probe = core[-16:]
    return any(isinstance(c, str) and probe in c for c in candidates)


@pytest.mark.parametrize(("name", "secret"), SECRETS, ids=[n for n, _ in SECRETS])
def test_every_secret_in_every_form_is_redacted(name: str, secret: str) -> None:
    for context in _contexts(secret):
        for form, text in _forms(context).items():
            out = redact(text)
            assert REDACTED in out, (name, form)
            assert not _leaks(secret, out), (name, form, out[:200])


@pytest.mark.parametrize(
    "template",
    [
        '{"role_id": "r-1", "secret_id": "%s"}',
        "BYOK_VAULT_SECRET_ID=%s",
        "auth/approle/login secret-id=%s",
        '{"secretId": "%s"}',
        '{\\"secret_id\\": \\"%s\\"}',
        "secret_id%%22%%3A%%20%%22%s",
    ],
)
def test_approle_secret_ids_next_to_their_name_are_redacted(template: str) -> None:
    for secret_id in SECRET_IDS:
        text = template % secret_id
        for form, encoded in _forms(text).items():
            out = redact(encoded)
            assert not _leaks(secret_id, out), (template, form, out)


def test_bearer_jwts_with_and_without_the_scheme_and_in_any_case() -> None:
    token = SECRETS[[n for n, _ in SECRETS].index("jwt")][1]
    for text in (token, f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"BeArEr+{token}",
                 f"authorization=Bearer%20{token}", f"Bearer opaque-token-{_random(30)}"):  # fmt: skip
        out = redact(text)
        assert token not in out and REDACTED in out


def test_ordinary_log_lines_are_left_alone() -> None:
    for line in (
        '{"level": "info", "msg": "POST /api/user-api-keys -> 201 in 12.3 ms", "request_id": "'
        + str(uuid.uuid4())
        + '"}',
        "usage charged: input_tokens=1200 output_tokens=300 tenant=acme model=claude-sonnet-4-5",
        "fingerprint sk-p…9xQ2#3fa1c0 stored, version 3",
        "task-runner finished items.count=3 in 5.0 ms, 50% done",
        "2026-11-30T08:00:00.123456Z r-7f0c9a1e-2b3c-4d5e-8f90-123456789abc",
    ):
        assert redact(line) == line


def test_a_non_utf8_dead_letter_is_redacted_before_it_is_base64_encoded() -> None:
    key = SECRETS[0][1]
    raw = b"\xff\xfe garbage " + key.encode() + b" \x80 more"
    payload = redact_payload(raw)
    assert payload.startswith("base64:")
    decoded = base64.b64decode(payload.removeprefix("base64:"))
    assert key.encode() not in decoded and REDACTED.encode() in decoded and decoded.startswith(b"\xff\xfe")
    assert redact_payload(b'{"k": "' + key.encode() + b'"}') == '{"k": "' + REDACTED + '"}'
    assert DeadLetter.encode_payload(b"plain") == "plain"


def test_logging_uses_the_same_function(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.makeLogRecord({"msg": "key %s refused", "args": (_u_escaped(SECRETS[0][1]),)})
    RedactingFilter().filter(record)
    assert SECRETS[0][1] not in JsonFormatter().format(record) and REDACTED in record.getMessage()


def test_redaction_stays_fast_on_a_typical_log_line() -> None:
    line = json.dumps(
        {"ts": "2026-11-30T08:00:00Z", "level": "info", "logger": "byok.inference", "tenant_id": "acme",
         "msg": "provider call completed", "request_id": str(uuid.uuid4())}
    )  # fmt: skip
    runs = 2_000
    started = time.perf_counter()
    for _ in range(runs):
        redact(line)
    per_call = (time.perf_counter() - started) / runs
    assert per_call < 200e-6  # ~5 us on a quiet core; a generous bound for a busy shared machine


def test_a_payload_cut_for_the_dead_letter_never_keeps_half_a_key() -> None:
    key = SECRETS[0][1]
    for at in range(990, 1001):
        raw = b"x" * at + key.encode() + b"y" * 5000
        kept = redact_payload(raw, max_chars=1000)[:1000]
        assert "sk-ant" not in kept and REDACTED[: 1000 - at] in kept
