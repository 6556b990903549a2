"""byok: the gateway from a terminal.

  byok keys add anthropic [--scope user|org]     store or rotate a key (read from a hidden prompt or stdin)
  byok keys list [--json]                        your keys: provider, scope, fingerprint, version, status
  byok keys rm anthropic [--scope user|org]      delete a key
  byok prompt "Say hello" --model claude-sonnet-4-5 [--byok-mode require] [--key-env ANTHROPIC_API_KEY] [--stream]
  byok usage --tenant acme [--from 2026-11-01 --to 2026-11-30] [--group-by day,provider] [--format table|csv|json]
  byok charges tail [--tenant acme] [--since 1h | --from-beginning] [--no-follow] [--format table|jsonl]
  byok token --tenant acme --user u_42 [--role admin]   a development token signed with BYOK_AUTH_JWT_SECRET
  eval "$(byok env [--principal producer|analyst|admin])"  the local stack's coordinates into this shell

Where things are (flags win over the environment):
  BYOK_KEYVAULT_URL      the key-vault service (--keyvault-url)          default http://127.0.0.1:8080
  BYOK_TOKEN             your token for the key-vault API and prompts (--token)
  BYOK_KAFKA_BOOTSTRAP   Kafka, with BYOK_KAFKA_SECURITY_PROTOCOL, _SASL_MECHANISM, _SASL_USERNAME,
                         _SASL_PASSWORD, _SSL_CAFILE (`set -a; . .run/clients/producer.env` on the local stack)
  BYOK_DATABASE_URL      the billing ledger, for `byok usage` (--database-url)
  BYOK_TENANT, BYOK_USER who you are for `byok prompt`, when the token does not say

Exit codes: 0 success, 1 the gateway answered `failed` (its error code is printed), 2 bad arguments or
input, 3 not authorized (401/403), 4 not found, 5 refused (422), 6 unreachable, 124 timed out, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from typing import Any

import jwt

from . import charges, keys, local_env, prompt
from .errors import INTERRUPTED, USAGE, CliError


def _token(args: argparse.Namespace, *, required: bool) -> str | None:
    token = args.token or os.environ.get("BYOK_TOKEN", "").strip() or None
    if token is None and required:
        raise CliError("a token is needed: --token or BYOK_TOKEN (on the local stack: byok token --help)", 3)
    return token


def _claims(token: str | None) -> dict[str, Any]:
    """The token's claims, unverified: only to default --tenant and --user (the services verify it)."""
    if not token:
        return {}
    try:
        return dict(jwt.decode(token, options={"verify_signature": False}))
    except jwt.PyJWTError:
        return {}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="byok", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--keyvault-url", default=os.environ.get("BYOK_KEYVAULT_URL", "http://127.0.0.1:8080"))
    common.add_argument("--token", help="overrides BYOK_TOKEN (prefer the variable: argv is visible to others)")
    sub = root.add_subparsers(dest="command", required=True)

    key_cmd = sub.add_parser("keys", help="your provider keys in the key-vault service").add_subparsers(
        dest="keys_command", required=True
    )
    add = key_cmd.add_parser("add", parents=[common], help="store or rotate a key (never from argv)")
    add.add_argument("provider", choices=keys.PROVIDERS)
    add.add_argument("--scope", choices=("user", "org"), default="user", help="org keys need an admin token")
    add.add_argument("--json", action="store_true")
    lst = key_cmd.add_parser("list", parents=[common], help="list your keys (fingerprints only)")
    lst.add_argument("--scope", choices=("user", "org"))
    lst.add_argument("--json", action="store_true")
    rm = key_cmd.add_parser("rm", parents=[common], help="delete a key")
    rm.add_argument("provider", choices=keys.PROVIDERS)
    rm.add_argument("--scope", choices=("user", "org"), default="user")

    p = sub.add_parser("prompt", parents=[common], help="run one prompt through Kafka and print the answer")
    p.add_argument("text", help='the user message ("-" reads it from stdin)')
    p.add_argument("--model", "-m", required=True)
    p.add_argument("--system", help="a system message")
    p.add_argument("--byok-mode", choices=("disabled", "prefer", "require"))
    p.add_argument("--key-env", metavar="VAR", help="send the key in this variable with the request, sealed")
    p.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    p.add_argument("--tenant", default=os.environ.get("BYOK_TENANT"), help="default: the token's, or BYOK_TENANT")
    p.add_argument("--user", default=os.environ.get("BYOK_USER"), help="default: the token's, or BYOK_USER")
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer")
    p.add_argument("--json", action="store_true", help="print the response event(s) as JSON lines")
    p.add_argument("--quiet", "-q", action="store_true", help="no provider/usage line on stderr")

    u = sub.add_parser("usage", help="the billing report from the ledger (sums of charges)")
    u.add_argument("--tenant", help="one tenant (default: all)")
    u.add_argument("--from", dest="from_", type=date.fromisoformat, help="YYYY-MM-DD (default: this month's first)")
    u.add_argument("--to", type=date.fromisoformat, help="YYYY-MM-DD, included (default: today)")
    u.add_argument("--group-by", default="day,provider", help="of day, provider, model, key_source")
    u.add_argument("--format", choices=("table", "csv", "json"), default="table")
    u.add_argument("--database-url", help="overrides BYOK_DATABASE_URL")

    c = sub.add_parser("charges", help="priced charges as billing publishes them").add_subparsers(
        dest="charges_command", required=True
    )
    t = c.add_parser("tail", help="follow byok.billing.charges, de-duplicated by event_id")
    t.add_argument("--tenant")
    start = t.add_mutually_exclusive_group()
    start.add_argument("--since", help="start this long ago: 90s, 15m, 2h, 7d (default: from now)")
    start.add_argument("--from-beginning", action="store_true")
    t.add_argument("--no-follow", dest="follow", action="store_false", help="stop at the end as of the start")
    t.add_argument("--limit", type=int, help="stop after this many charges")
    t.add_argument("--format", choices=("table", "jsonl"), default="table")

    tok = sub.add_parser("token", help="mint a development token (HS256 with BYOK_AUTH_JWT_SECRET)")
    tok.add_argument("--tenant", required=True)
    tok.add_argument("--user", required=True)
    tok.add_argument("--role", choices=("member", "admin"), default="member")
    tok.add_argument("--minutes", type=int, default=60)

    env = sub.add_parser("env", help='the local stack\'s coordinates as export lines: eval "$(byok env)"')
    env.add_argument("--principal", choices=("producer", "analyst", "admin"), default="producer")
    env.add_argument("--run-dir", help="default: $BYOK_RUN_DIR or ./.run")
    return root


async def _run(args: argparse.Namespace) -> int:
    if args.command == "keys":
        base = args.keyvault_url.rstrip("/")
        token = _token(args, required=True)
        assert token is not None
        if args.keys_command == "add":
            stored = await keys.add(base, token, args.provider, args.scope, keys.read_key(args.provider))
            if args.json:
                print(json.dumps(stored))
            else:
                print(
                    f"{stored['action']} {args.scope} {args.provider} key {stored.get('fingerprint')} "
                    f"(version {stored.get('version')})"
                )
        elif args.keys_command == "list":
            found = await keys.listing(base, token, args.scope)
            print(json.dumps(found) if args.json else keys.table(found))
        else:
            await keys.remove(base, token, args.provider, args.scope)
            print(f"deleted the {args.scope} {args.provider} key")
        return 0
    if args.command == "prompt":
        token = _token(args, required=False)
        claims = _claims(token)
        tenant = args.tenant or claims.get("tenant")
        if not tenant:
            raise CliError("who is asking? --tenant, BYOK_TENANT, or a token with a tenant claim", USAGE)
        return await prompt.run(args, tenant_id=tenant, user_id=args.user or claims.get("sub"), token=token)
    if args.command == "charges":
        return await charges.tail(args)
    raise CliError(f"unknown command {args.command}", USAGE)


def _usage(args: argparse.Namespace) -> int:
    try:
        from byok_billing.entrypoints.cli import main as billing_main
    except ImportError:
        raise CliError("byok usage needs the billing package: pip install 'byok-cli[usage]'", USAGE) from None
    today = datetime.now(UTC).date()
    start, end = args.from_ or today.replace(day=1), args.to or today
    argv = [*(["--database-url", args.database_url] if args.database_url else []), "report"]
    argv += ["--from", start.isoformat(), "--to", end.isoformat(), "--group-by", args.group_by, "--format", args.format]
    argv += ["--tenant", args.tenant] if args.tenant else []
    return billing_main(argv)


def _mint(args: argparse.Namespace) -> int:
    secret = os.environ.get("BYOK_AUTH_JWT_SECRET", "")
    if not secret:
        raise CliError("BYOK_AUTH_JWT_SECRET is not set (on the local stack: set -a; . .run/services.env)", USAGE)
    now = int(time.time())
    claims = {"sub": args.user, "tenant": args.tenant, "role": args.role, "iat": now, "exp": now + 60 * args.minutes}
    print(jwt.encode(claims, secret, algorithm="HS256"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "usage":
            return _usage(args)
        if args.command == "token":
            return _mint(args)
        if args.command == "env":
            print(local_env.exports(args.run_dir, args.principal))
            return 0
        return asyncio.run(_run(args))
    except CliError as exc:
        print(f"byok: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("byok: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        return 0


def entry() -> None:
    sys.exit(main())
