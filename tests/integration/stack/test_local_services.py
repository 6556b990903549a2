"""infra/local/services.sh as a user runs it: each process holds only its own Vault credentials, no secret on any
command line, secret files 0600, a fixed key-vault port, and a service killed with SIGKILL comes back by itself."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from byok_testing.waiting import wait_until_sync

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
SERVICES_SH = REPO / "infra/local/services.sh"
SERVICES = ("keyvault", "inference", "billing", "fake-providers")


def _env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _services_sh(run_dir: Path, command: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | {"BYOK_RUN_DIR": str(run_dir)} | extra
    return subprocess.run([SERVICES_SH, command], env=env, capture_output=True, text=True, timeout=240)


def _proc(pid: int, what: str) -> list[str]:
    return [item.decode() for item in Path(f"/proc/{pid}/{what}").read_bytes().split(b"\0") if item]


def _pid(run_dir: Path, name: str) -> int:
    return int((run_dir / f"{name}.pid").read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def running(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    run_dir = tmp_path_factory.mktemp("services-run")
    shutil.copy(Path(stack_env["BYOK_RUN_DIR"]) / "stack.env", run_dir / "stack.env")
    port = _free_port()
    up = _services_sh(run_dir, "up", BYOK_KEYVAULT_PORT=str(port))
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        yield run_dir, port
    finally:
        down = _services_sh(run_dir, "down")
        assert down.returncode == 0, down.stderr


def test_each_service_holds_only_its_own_vault_credentials(running, stack_env) -> None:
    run_dir, _ = running
    environ = {name: dict(item.split("=", 1) for item in _proc(_pid(run_dir, name), "environ")) for name in SERVICES}
    assert environ["keyvault"]["BYOK_VAULT_TOKEN"] == stack_env["BYOK_VAULT_TOKEN_KEYVAULT"]
    assert environ["inference"]["BYOK_VAULT_TOKEN"] == stack_env["BYOK_VAULT_TOKEN_INFERENCE"]
    assert "BYOK_VAULT_TOKEN" not in environ["billing"] and "BYOK_VAULT_TOKEN" not in environ["fake-providers"]
    assert environ["billing"]["BYOK_DATABASE_URL"] == stack_env["BYOK_DATABASE_URL"]
    assert environ["inference"]["BYOK_INFERENCE_USER_AUTH"] == "required", "stored keys need the user's token"
    vault_secrets = {k: v for k, v in stack_env.items() if k.startswith(("BYOK_VAULT_TOKEN_", "BYOK_VAULT_SECRET_ID_"))}
    vault_secrets["BYOK_VAULT_ROOT_TOKEN"] = stack_env["BYOK_VAULT_ROOT_TOKEN"]
    for name, variables in environ.items():
        own = {variables.get("BYOK_VAULT_TOKEN")}
        held = {key for key, secret in vault_secrets.items() if secret in variables.values() and secret not in own}
        assert not held, f"{name} holds {held}"
        assert not [key for key in variables if key.startswith(("BYOK_VAULT_TOKEN_", "BYOK_VAULT_ROOT"))], name


def test_no_secret_on_any_command_line(running, stack_env) -> None:
    run_dir, _ = running
    secrets = [v for k, v in stack_env.items() if k.startswith(("BYOK_VAULT_TOKEN_", "BYOK_VAULT_SECRET_ID_"))]
    secrets += [stack_env["BYOK_VAULT_ROOT_TOKEN"], _env_file(run_dir / "services.env")["BYOK_AUTH_JWT_SECRET"]]
    stack_dir = Path(stack_env["BYOK_RUN_DIR"])
    pids = [_pid(run_dir, name) for name in SERVICES]
    pids += [int((run_dir / f"{name}.supervisor.pid").read_text()) for name in SERVICES]
    pids += [int((stack_dir / "vault.pid").read_text())]
    pids += [int(p.read_text()) for p in (stack_dir / "kafka").glob("*.pid")]
    for pid in pids:
        cmdline = " ".join(_proc(pid, "cmdline"))
        assert not [s for s in secrets if s in cmdline], f"a secret on the command line of {cmdline[:80]}"
    assert len(pids) >= 10


def test_files_holding_secrets_are_0600(running, stack_env) -> None:
    run_dir, _ = running
    stack_dir = Path(stack_env["BYOK_RUN_DIR"])
    files = [stack_dir / name for name in ("stack.env", "vault.env", "postgres.env", "kafka.env")]
    files += [run_dir / "services.env", *sorted((run_dir / "env").glob("*.env"))]
    assert len(files) == 9
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_keyvault_port_is_the_one_asked_for(running) -> None:
    run_dir, port = running
    assert _env_file(run_dir / "services.env")["BYOK_KEYVAULT_URL"] == f"http://127.0.0.1:{port}"
    subprocess.run(["curl", "-fsS", f"http://127.0.0.1:{port}/healthz"], check=True, capture_output=True, timeout=10)


@pytest.mark.parametrize("name", ["inference", "keyvault"])
def test_a_killed_service_is_restarted_and_says_why(running, name: str) -> None:
    run_dir, _ = running
    before = _pid(run_dir, name)
    os.kill(before, 9)
    url = _env_file(run_dir / "services.env")["BYOK_INFERENCE_OPS_URL" if name == "inference" else "BYOK_KEYVAULT_URL"]

    def back() -> bool:
        pid = _pid(run_dir, name) if (run_dir / f"{name}.pid").exists() else before
        answered = subprocess.run(["curl", "-fsS", "-o", "/dev/null", f"{url}/healthz"], timeout=10).returncode == 0
        return pid != before and answered

    wait_until_sync(back, 60, f"{name} not back", interval=0.2)
    assert (run_dir / f"{name}.restarts").read_text().strip() == "1 killed by signal KILL"
    assert f"{name} (pid {before}) died: killed by signal KILL; restart 1" in (run_dir / f"{name}.log").read_text()
    status = _services_sh(run_dir, "status").stdout
    assert f"{name}: running (pid {_pid(run_dir, name)}), restarts: 1, last: killed by signal KILL" in status
