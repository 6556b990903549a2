"""`byok env`: the local stack's coordinates as shell `export` lines, for `eval "$(byok env)"`.

Reads the KEY=value files `make up` leaves in the run folder (stack.env, services.env and, where the
stack writes them, clients/<principal>.env) as data, never as shell, and quotes every value.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from .errors import USAGE, CliError

_KAFKA = (
    "BOOTSTRAP",
    "SECURITY_PROTOCOL",
    "SASL_MECHANISM",
    "SASL_USERNAME",
    "SASL_PASSWORD",
    "SSL_CAFILE",
    "SSL_CERTFILE",
    "SSL_KEYFILE",
)
WANTED = {*(f"BYOK_KAFKA_{k}" for k in _KAFKA), "BYOK_KEYVAULT_URL", "BYOK_DATABASE_URL", "BYOK_AUTH_JWT_SECRET"}


def _pairs(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def exports(run_dir: str | None, principal: str) -> str:
    folder = Path(run_dir or os.environ.get("BYOK_RUN_DIR") or ".run")
    stack = folder / "stack.env"
    if not stack.exists():
        raise CliError(f"{stack} is missing: start the local stack first (make up), or give --run-dir", USAGE)
    values = _pairs(stack)
    for extra in (folder / "services.env", folder / "clients" / f"{principal}.env"):
        if extra.exists():
            values.update(_pairs(extra))
    chosen = {k: v for k, v in values.items() if k in WANTED}
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(chosen.items()))
