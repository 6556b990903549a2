"""Exit codes of `byok` and the one exception type that carries them. Messages never hold keys or tokens."""

from __future__ import annotations

OK = 0
FAILED = 1  # the gateway answered `failed`, or an unexpected error
USAGE = 2  # bad arguments or input (argparse uses 2 too)
UNAUTHORIZED = 3  # 401 / 403: no token, a bad or expired one, or not allowed
NOT_FOUND = 4  # 404: nothing stored there
REFUSED = 5  # 422: the key-vault service refused the input (e.g. invalid_key_format)
UNREACHABLE = 6  # the key-vault service or Kafka could not be reached
TIMEOUT = 124  # no answer in time (as timeout(1))
INTERRUPTED = 130  # Ctrl-C

EXIT_CODES = {
    "0": "success",
    "1": "the gateway answered `failed` (the error code is printed), or an unexpected error",
    "2": "bad arguments or input",
    "3": "not authorized: missing, invalid or expired token, or not allowed (HTTP 401/403)",
    "4": "not found (HTTP 404)",
    "5": "refused by the key-vault service (HTTP 422, e.g. invalid_key_format)",
    "6": "the key-vault service or Kafka cannot be reached",
    "124": "timed out waiting for an answer",
    "130": "interrupted",
}


class CliError(Exception):
    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def kafka_failure(exc: BaseException, bootstrap: str, principal: str | None) -> CliError:
    """What went wrong with Kafka, in the user's terms: refused (3) or unreachable (6)."""
    from aiokafka import errors

    who = f" as {principal}" if principal else ""
    refused = (
        errors.TopicAuthorizationFailedError,
        errors.GroupAuthorizationFailedError,
        errors.ClusterAuthorizationFailedError,
        errors.AuthenticationFailedError,
        errors.SaslAuthenticationFailed,
    )
    if isinstance(exc, refused):
        return CliError(f"Kafka at {bootstrap} refused this{who} ({type(exc).__name__})", UNAUTHORIZED)
    return CliError(f"cannot reach Kafka at {bootstrap}{who} ({type(exc).__name__})", UNREACHABLE)
