"""Vault set-up for the byok stack on hvac: unseal a durable server, bootstrap, smoke-check.

    python infra/vault/bootstrap.py unseal      init (1 share) when new, then unseal (durable mode)
    python infra/vault/bootstrap.py bootstrap   KV v2 at byok/, AppRole, one policy, token and AppRole per service
    python infra/vault/bootstrap.py smoke       each service token and AppRole login carries exactly its policy

Secrets never travel on a command line: the address and root token come from $BYOK_RUN_DIR/vault.env
(written by vault.sh) or from BYOK_VAULT_ADDR and BYOK_VAULT_ROOT_TOKEN / BYOK_VAULT_TOKEN in the
environment; results go back to vault.env, created 0600. Exit code 3: the token may not bootstrap.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import hvac
import hvac.exceptions

KV_MOUNT = "byok"
POLICY_DIR = Path(__file__).resolve().parent / "policies"
SERVICES = sorted(p.stem for p in POLICY_DIR.glob("*.hcl"))
TOKEN_PERIOD = os.environ.get("BYOK_VAULT_TOKEN_PERIOD", "768h")
RUN_DIR = Path(os.environ.get("BYOK_RUN_DIR", Path(__file__).resolve().parents[2] / ".run"))
ENV_FILE = RUN_DIR / "vault.env"
# What bootstrapping needs; a token without these is used as it is (the caller's Vault, the caller's setup).
NEEDED = {"sys/mounts/" + KV_MOUNT: "create", "sys/auth/approle": "create", "sys/policies/acl/byok-x": "create"}


def say(message: str) -> None:
    print(f"[vault] {message}", file=sys.stderr)


def read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")
    return {key: value for key, value in pairs}


def write_private(path: Path, text: str) -> None:
    """Write a file that holds secrets: mode 0600 from its creation on, replaced atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def update_env(values: dict[str, str]) -> None:
    merged = read_env(ENV_FILE) | values
    write_private(ENV_FILE, "".join(f"{key}={value}\n" for key, value in merged.items()))


def target() -> tuple[str, str]:
    env = read_env(ENV_FILE)
    addr = env.get("BYOK_VAULT_ADDR") or os.environ.get("BYOK_VAULT_ADDR", "")
    token = env.get("BYOK_VAULT_ROOT_TOKEN") or os.environ.get("BYOK_VAULT_ROOT_TOKEN") or ""
    token = token or os.environ.get("BYOK_VAULT_TOKEN", "")
    if not addr:
        sys.exit(f"no Vault address in {ENV_FILE} nor BYOK_VAULT_ADDR")
    return addr, token


def unseal() -> None:
    addr = os.environ["BYOK_VAULT_ADDR"]  # this start's address; vault.env may hold the last one's
    init_file = Path(os.environ.get("BYOK_VAULT_INIT_FILE", RUN_DIR / "vault-init.json"))
    data_dir = os.environ["BYOK_VAULT_DATA_DIR"]
    client = hvac.Client(url=addr)
    if not client.sys.is_initialized():
        if init_file.exists() and json.loads(init_file.read_text()).get("data_dir") not in (None, data_dir):
            sys.exit(f"{init_file} holds the unseal key of another data dir; set BYOK_VAULT_INIT_FILE")
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        write_private(init_file, json.dumps(init | {"data_dir": data_dir}, indent=2))
        ENV_FILE.unlink(missing_ok=True)  # tokens of an earlier data dir are void
        say(f"initialised; unseal key and root token in {init_file} (0600)")
    if not init_file.exists():
        sys.exit(f"{data_dir} is initialised but {init_file} is missing: cannot unseal")
    init = json.loads(init_file.read_text())
    if init.get("data_dir") != data_dir:
        sys.exit(f"{init_file} belongs to {init.get('data_dir')}, not {data_dir}")
    if client.sys.is_sealed():
        if client.sys.submit_unseal_key(init["keys_base64"][0])["sealed"]:
            sys.exit("unseal did not complete (wrong key for this data dir?)")
        say("unsealed")
    if read_env(ENV_FILE).get("BYOK_VAULT_DATA_DIR") != data_dir:
        ENV_FILE.unlink(missing_ok=True)
    update_env(
        {
            "BYOK_VAULT_ADDR": addr,
            "BYOK_VAULT_ROOT_TOKEN": init["root_token"],
            "BYOK_VAULT_MODE": "durable",
            "BYOK_VAULT_DATA_DIR": data_dir,
        }
    )


def may_bootstrap(client: hvac.Client) -> bool:
    try:
        granted = client.adapter.post("/v1/sys/capabilities-self", json={"paths": list(NEEDED)})
    except hvac.exceptions.VaultError:
        return False
    return all(need in granted.get(path, []) or "root" in granted.get(path, []) for path, need in NEEDED.items())


def token_ok(client: hvac.Client, token: str, policy: str) -> bool:
    try:
        return policy in client.auth.token.lookup(token)["data"]["policies"]
    except (hvac.exceptions.VaultError, KeyError):
        return False


def secret_id_ok(client: hvac.Client, role: str, secret_id: str) -> bool:
    try:
        found = client.auth.approle.read_secret_id(role_name=role, secret_id=secret_id)
    except hvac.exceptions.VaultError:
        return False
    return isinstance(found, dict) and bool((found.get("data") or {}).get("secret_id_accessor"))


def bootstrap() -> None:
    addr, token = target()
    client = hvac.Client(url=addr, token=token)
    if not token or not may_bootstrap(client):
        say(f"the token given for {addr} may not create mounts, auth methods and policies: not bootstrapping")
        sys.exit(3)
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    if f"{KV_MOUNT}/" not in mounts:
        client.sys.enable_secrets_engine("kv", path=KV_MOUNT, options={"version": "2"})
    elif mounts[f"{KV_MOUNT}/"]["type"] != "kv" or mounts[f"{KV_MOUNT}/"]["options"].get("version") != "2":
        sys.exit(f"{KV_MOUNT}/ is mounted but is not KV version 2")
    if "approle/" not in client.sys.list_auth_methods()["data"]:
        client.sys.enable_auth_method("approle")
    known = read_env(ENV_FILE)
    values = {"BYOK_VAULT_ADDR": addr, "BYOK_VAULT_ROOT_TOKEN": token, "BYOK_VAULT_KV_MOUNT": KV_MOUNT}
    for service in SERVICES:
        upper, policy = service.upper(), f"byok-{service}"
        client.sys.create_or_update_acl_policy(policy, (POLICY_DIR / f"{service}.hcl").read_text())
        service_token = known.get(f"BYOK_VAULT_TOKEN_{upper}", "")
        if not token_ok(client, service_token, policy):
            created = client.auth.token.create_orphan(
                policies=[policy], period=TOKEN_PERIOD, display_name=service, meta={"service": service}
            )
            service_token = created["auth"]["client_token"]
        client.auth.approle.create_or_update_approle(
            service, token_policies=[policy], token_type="service", token_ttl="1h", token_max_ttl="24h"
        )
        role_id = client.auth.approle.read_role_id(service)["data"]["role_id"]
        secret_id = known.get(f"BYOK_VAULT_SECRET_ID_{upper}", "")
        if not secret_id_ok(client, service, secret_id):
            secret_id = client.auth.approle.generate_secret_id(service)["data"]["secret_id"]
        values |= {
            f"BYOK_VAULT_TOKEN_{upper}": service_token,
            f"BYOK_VAULT_ROLE_ID_{upper}": role_id,
            f"BYOK_VAULT_SECRET_ID_{upper}": secret_id,
        }
    update_env(values)
    say(f"bootstrapped {addr}: KV v2 at {KV_MOUNT}/, policy, token and AppRole for {', '.join(SERVICES)}")


def smoke() -> None:
    addr, _ = target()
    env = read_env(ENV_FILE)
    for service in SERVICES:
        want = {"default", f"byok-{service}"}
        by_token = hvac.Client(url=addr, token=env[f"BYOK_VAULT_TOKEN_{service.upper()}"])
        login = hvac.Client(url=addr).auth.approle.login(
            env[f"BYOK_VAULT_ROLE_ID_{service.upper()}"], env[f"BYOK_VAULT_SECRET_ID_{service.upper()}"]
        )
        got = set(by_token.auth.token.lookup_self()["data"]["policies"]), set(login["auth"]["policies"])
        if got != (want, want):
            sys.exit(f"{service}: token and AppRole policies {[sorted(p) for p in got]}; want {sorted(want)}")
    say(f"smoke: the token and the AppRole login of {', '.join(SERVICES)} carry exactly their policy")


if __name__ == "__main__":
    commands = {"unseal": unseal, "bootstrap": bootstrap, "smoke": smoke}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    commands[sys.argv[1]]()
