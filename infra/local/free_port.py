"""A free port on 127.0.0.1 below the kernel's ephemeral range (32768+), so no outgoing connection takes it
while the server that owns it restarts (a broker or Vault stopped and started on the same port).

Standard library only: infra/lib.sh runs it with the system python3 before the workspace venv exists, and the
fault harness imports it (tests/faults/harness.py)."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    print(free_port())
