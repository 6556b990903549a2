"""The one redaction function, for log lines and dead letters: anything key-shaped becomes [REDACTED].

What it finds, in plain text, JSON `\\uXXXX` escapes, percent-encoding and base64 (a run of 32+ base64
characters is decoded and searched, once nested):
- provider keys of every format the key-vault service accepts (sk-ant-, sk-or-v1-, sk-, sk-proj-,
  sk-svcacct-, sk-admin-, AIza), sealed keys (byok-seal-v<n>.);
- Vault tokens (hvs., hvb., hvr., and the legacy s./b./r. forms), JWTs with or without "Bearer", any
  bearer token;
- the value after a secret-naming key (secret_id, private_key, client_token, vault_token, api_key,
  password) - AppRole secret_ids are UUIDs, which are only secret there;
- a bare 32-byte base64 value (the X25519 sealing private key, 43 or 44 characters).

It runs on every log line, so a line that holds none of the triggers (most of them) costs a few
substring checks and two bytes.translate calls.
"""

from __future__ import annotations

import base64
import binascii
import re

REDACTED = "[REDACTED]"

_SEP = r"""(?:[\s"':=\\]|%2[02]|%27|%3[aAdD]|\\u00(?:22|27|3[aAdD])){1,16}"""
_NAMED = re.compile(
    r"(?P<name>(?i:secret[_-]?id|private[_-]?key|client_token|vault[_-]token|api_?key|password)"
    + _SEP
    + r")(?:[A-Za-z0-9+/_\-.=~]|\\/|%2[bBfF]|%3[dD]){8,}"  # the value, escaped slashes and all
)
# (lower-case trigger, pattern): a pattern runs only when its trigger is in the lower-cased text, and each
# starts with a literal so that the regex engine skips ahead instead of trying every position.
_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("sk-",), re.compile(r"sk-(?:(?:ant-|or-v1-)[A-Za-z0-9_\-]{8,}|(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,})")),
    (("aiza",), re.compile(r"AIza[0-9A-Za-z_\-]{20,}")),
    (("hvs.", "hvb.", "hvr."), re.compile(r"hv[sbr]\.[A-Za-z0-9_\-]{16,}")),
    (("byok-seal-v",), re.compile(r"byok-seal-v[0-9]+\.[A-Za-z0-9_\-\.]{16,}")),
    (("eyj",), re.compile(r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")),
    (("bearer",), re.compile(r"(?i:bearer)(?:\s|\+|%20)+(?:[^\s\"',;&\\]|\\/){8,}")),
    (
        ("secret", "private", "client_token", "vault_token", "vault-token", "apikey", "api_key", "password"),
        _NAMED,
    ),
)  # fmt: skip
_LEGACY_TOKEN = re.compile(r"[sbr]\.[A-Za-z0-9]{24,}(?![A-Za-z0-9])")
_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{32,}={0,2}")
_HEX_CHARS = b"0123456789abcdefABCDEF-"
_ESCAPED = re.compile(r"\\u00([2-7][0-9a-fA-F])|\\(/)|%([2-7][0-9a-fA-F])")
# Decoded in the copy that is searched: printable ASCII but the quote, so that a JSON string stays a JSON
# string when the decoded copy (redacted) is what comes out (an escaped backslash may change meaning there).
_UNESCAPE_OK = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"'}

# bytes.translate tables: one maps the base64 alphabet to "a", one maps letters and digits to "a".
_B64_TABLE = bytes(0x61 if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/_-") else 0x20 for i in range(256))
_ALNUM_TABLE = bytes(0x61 if chr(i).isascii() and chr(i).isalnum() else 0x20 for i in range(256))
_RUN32, _RUN24 = b"a" * 32, b"a" * 24
_CUT_MARGIN = 4096  # more than any key in any of its encodings
_MAX_DEPTH = 3  # decodings nested in one another (base64 of a URL-encoded key, say)


def redact(text: str) -> str:
    """`text` with everything key-shaped replaced by [REDACTED] (the same text when nothing is)."""
    return _redact(text, depth=0)


def redact_payload(raw: bytes, max_chars: int | None = None) -> str:
    """A dead letter's payload: UTF-8 text, or 'base64:' + base64 of bytes that are not; redacted before
    encoding (a key in a non-UTF-8 record is ASCII, so it is found in the latin-1 reading of the bytes).

    With `max_chars`, only the start that the caller keeps is redacted (plus a margin, so that a key
    across the cut is seen whole): a flood of 1 MB garbage records costs no 1 MB scans.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        window = raw if max_chars is None else raw[: max_chars + _CUT_MARGIN]
        cleaned = redact(window.decode("latin-1")).encode("latin-1", errors="replace")
        return "base64:" + base64.b64encode(cleaned).decode()
    return redact(text if max_chars is None else text[: max_chars + _CUT_MARGIN])


def _redact(text: str, depth: int) -> str:
    if ("\\" in text or "%" in text) and depth < _MAX_DEPTH:  # one-character checks are the fast ones
        decoded = _ESCAPED.sub(_unescape, text)
        if decoded != text:
            redacted = _redact(decoded, depth + 1)
            if redacted != decoded:  # something was hidden by the escapes: the decoded copy, redacted
                return redacted
    lowered = text.lower()
    for triggers, pattern in _RULES:
        for trigger in triggers:
            if trigger in lowered:
                text = pattern.sub(_replace, text)
                break
    encoded = text.encode("utf-8", "surrogatepass")
    if _RUN24 in encoded.translate(_ALNUM_TABLE):  # legacy Vault tokens: s./b./r. + 24 letters and digits
        replaced = _LEGACY_TOKEN.sub(_replace_legacy, text)
        if replaced != text:
            text, encoded = replaced, replaced.encode("utf-8", "surrogatepass")
    if depth < _MAX_DEPTH:
        classes = encoded.translate(_B64_TABLE)
        if _RUN32 in classes:
            if text.isascii() and len(encoded) == len(text):  # byte offsets are character offsets
                text = _replace_runs(text, classes, depth)
            else:
                text = _B64_RUN.sub(lambda m: _b64_match(m, depth), text)
    return text


def _replace_runs(text: str, classes: bytes, depth: int) -> str:
    parts, done = [], 0
    start = classes.find(_RUN32)
    while start != -1:
        end = classes.find(b" ", start)
        end = len(text) if end == -1 else end
        while end < len(text) and text[end] == "=" and end - start < 10_000:
            end += 1
        run = text[start:end]
        if start and text[start - 1] == "\\":
            replaced = run[0] + _b64_run(run[1:], depth)
        else:
            replaced = _b64_run(run, depth)
        if replaced is not run:
            parts += [text[done:start], replaced]
            done = end
        start = classes.find(_RUN32, end)
    return "".join([*parts, text[done:]]) if parts else text


def _replace(match: re.Match[str]) -> str:
    return REDACTED if match.re is not _NAMED else match.group("name") + REDACTED


def _replace_legacy(match: re.Match[str]) -> str:
    # "s." ends many words, and a token may follow anything (an escape like \n, \u0020, %20): what marks a
    # legacy token is its random body, letters of both cases and digits.
    return REDACTED if _mixed(match.group()[2:]) else match.group()


def _mixed(text: str) -> bool:
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1) or match.group(3)
    char = chr(int(code, 16)) if code else "/"
    return char if char in _UNESCAPE_OK else match.group()


def _b64_match(match: re.Match[str], depth: int) -> str:
    run, start = match.group(), match.start()
    if start and match.string[start - 1] == "\\":  # "\nKEY" in JSON text: the run starts after the escape
        return run[0] + _b64_run(run[1:], depth) if len(run) > 32 else run
    return _b64_run(run, depth)


def _b64_run(run: str, depth: int) -> str:
    if not run.encode().translate(None, _HEX_CHARS):  # ids and hashes (UUIDs): no text hides in them
        return run
    if _is_raw_32_bytes(run):
        return REDACTED
    body = run.rstrip("=")
    for offset in range(4):  # the run may start mid-way through a base64 quantum
        chunk = body[offset:]
        chunk = chunk[:-1] if len(chunk) % 4 == 1 else chunk + "=" * (-len(chunk) % 4)
        try:
            raw = base64.b64decode(chunk.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = raw.decode("latin-1")
        if _redact(decoded, depth + 1) != decoded:
            return REDACTED
    return run


def _is_raw_32_bytes(run: str) -> bool:
    """43 base64url characters (or 44 with '='), mixing cases and digits: a 32-byte key, not a word."""
    if not (len(run) == 43 or (len(run) == 44 and run.endswith("="))):
        return False
    return _mixed(run)
