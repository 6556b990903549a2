#!/usr/bin/env python3
"""A tiny Kafka admin client on the Python standard library alone (no JVM, no aiokafka).

Used by kafka.sh so that readiness checks and topic creation cost milliseconds instead of a JVM
start each. It speaks only a few non-flexible request versions that Kafka 2.x, 3.x and 4.x all
serve: Metadata v4 and CreateTopics v2 (request header v1, response header v0).

    kafka_admin.py wait          BOOTSTRAP [--timeout S]   # until a broker answers Metadata and is listed
    kafka_admin.py create-topics BOOTSTRAP FILE [--timeout S]
    kafka_admin.py list          BOOTSTRAP [--timeout S]

FILE is topics.txt: `name partitions retention.ms cleanup.policy [key=value ...]` per line.
Exit codes: 0 ok, 1 failure (message on stderr).
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

CLIENT_ID = "byok-infra"
API_METADATA, API_CREATE_TOPICS = 3, 19
ERRORS = {
    0: "NONE",
    3: "UNKNOWN_TOPIC_OR_PARTITION",
    5: "LEADER_NOT_AVAILABLE",
    7: "REQUEST_TIMED_OUT",
    35: "UNSUPPORTED_VERSION",
    36: "TOPIC_ALREADY_EXISTS",
    37: "INVALID_PARTITIONS",
    38: "INVALID_REPLICATION_FACTOR",
    40: "INVALID_CONFIG",
    41: "NOT_CONTROLLER",
    42: "INVALID_REQUEST",
    44: "POLICY_VIOLATION",
}
RETRIABLE = {5, 7, 41}


def err_name(code: int) -> str:
    return ERRORS.get(code, f"error {code}")


# --- encoding ---------------------------------------------------------------------------------
def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _nstr(s: str | None) -> bytes:
    return struct.pack(">h", -1) if s is None else _str(s)


def _array(items: list[bytes] | None) -> bytes:
    if items is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(items)) + b"".join(items)


class Reader:
    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def _take(self, fmt: str):
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def i8(self) -> int:
        return self._take(">b")

    def i16(self) -> int:
        return self._take(">h")

    def i32(self) -> int:
        return self._take(">i")

    def nstr(self) -> str | None:
        n = self.i16()
        if n < 0:
            return None
        s = self.buf[self.pos : self.pos + n].decode()
        self.pos += n
        return s

    def str(self) -> str:
        return self.nstr() or ""

    def array(self, item) -> list:
        n = self.i32()
        return [] if n < 0 else [item(self) for _ in range(n)]


class Conn:
    def __init__(self, bootstrap: str, timeout: float) -> None:
        last: Exception | None = None
        for hp in bootstrap.split(","):
            host, _, port = hp.strip().rpartition(":")
            try:
                self.sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
                break
            except OSError as e:
                last = e
        else:
            raise ConnectionError(f"cannot connect to {bootstrap}: {last}")
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def _recv(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            c = self.sock.recv(n - got)
            if not c:
                raise ConnectionError("connection closed by broker")
            chunks.append(c)
            got += len(c)
        return b"".join(chunks)

    def request(self, api_key: int, version: int, body: bytes) -> Reader:
        self.correlation += 1
        msg = struct.pack(">hhi", api_key, version, self.correlation) + _nstr(CLIENT_ID) + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        (size,) = struct.unpack(">i", self._recv(4))
        r = Reader(self._recv(size))
        if r.i32() != self.correlation:
            raise ConnectionError("correlation id mismatch")
        return r


# --- requests ---------------------------------------------------------------------------------
@dataclass
class Metadata:
    brokers: list[tuple[int, str, int]]
    cluster_id: str | None
    controller_id: int
    topics: dict[str, tuple[int, list[int]]]  # name -> (error_code, leader per partition)


def metadata(conn: Conn, topics: list[str] | None) -> Metadata:
    body = _array(None if topics is None else [_str(t) for t in topics]) + b"\x00"  # no auto-create
    r = conn.request(API_METADATA, 4, body)
    r.i32()  # throttle_time_ms
    brokers = r.array(lambda r: (r.i32(), r.str(), r.i32(), r.nstr())[:3])
    cluster_id = r.nstr()
    controller_id = r.i32()

    def partition(r: Reader) -> tuple[int, int]:
        r.i16()  # partition error code
        index, leader = r.i32(), r.i32()
        r.array(Reader.i32)  # replicas
        r.array(Reader.i32)  # isr
        return index, leader

    def topic(r: Reader) -> tuple[str, int, list[int]]:
        code, name = r.i16(), r.str()
        r.i8()  # is_internal
        parts = sorted(r.array(partition))
        return name, code, [leader for _, leader in parts]

    tops = {name: (code, leaders) for name, code, leaders in r.array(topic)}
    return Metadata(brokers, cluster_id, controller_id, tops)


@dataclass
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def create_topics(conn: Conn, specs: list[TopicSpec], timeout_ms: int) -> dict[str, tuple[int, str | None]]:
    items = []
    for s in specs:
        configs = [_str(k) + _nstr(v) for k, v in s.configs.items()]
        items.append(_str(s.name) + struct.pack(">ih", s.partitions, 1) + _array([]) + _array(configs))
    body = _array(items) + struct.pack(">i", timeout_ms) + b"\x00"  # validate_only = false
    r = conn.request(API_CREATE_TOPICS, 2, body)
    r.i32()  # throttle_time_ms
    return {name: (code, msg) for name, code, msg in r.array(lambda r: (r.str(), r.i16(), r.nstr()))}


def parse_topics_file(path: str) -> list[TopicSpec]:
    specs = []
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            cols = line.split()
            if len(cols) < 4:
                raise SystemExit(f"{path}:{lineno}: need: name partitions retention.ms cleanup.policy")
            configs = {"retention.ms": cols[2], "cleanup.policy": cols[3]}
            for kv in cols[4:]:
                k, sep, v = kv.partition("=")
                if not sep:
                    raise SystemExit(f"{path}:{lineno}: extra column {kv!r} is not key=value")
                configs[k] = v
            specs.append(TopicSpec(cols[0], int(cols[1]), configs))
    return specs


# --- commands ---------------------------------------------------------------------------------
def connect_retrying(bootstrap: str, deadline: float) -> Conn:
    while True:
        try:
            return Conn(bootstrap, timeout=max(1.0, min(10.0, deadline - time.monotonic())))
        except OSError as e:
            if time.monotonic() >= deadline:
                raise SystemExit(f"kafka_admin: {e}") from None
            time.sleep(0.2)


def cmd_wait(bootstrap: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            conn = Conn(bootstrap, timeout=2.0)
            try:
                md = metadata(conn, [])
            finally:
                conn.close()
            if md.brokers:
                return 0
            last = "broker answered but lists no live broker yet"
        except (OSError, struct.error) as e:
            last = str(e)
        if time.monotonic() >= deadline:
            print(f"kafka_admin: {bootstrap} not ready after {timeout:.0f}s: {last}", file=sys.stderr)
            return 1
        time.sleep(0.2)


def wait_topics_ready(conn: Conn, names: list[str], deadline: float) -> dict[str, tuple[int, list[int]]]:
    """Until every topic is in the broker's metadata with a leader for every partition."""
    while True:
        md = metadata(conn, names)
        ready = all(
            t in md.topics and md.topics[t][0] == 0 and md.topics[t][1] and min(md.topics[t][1]) >= 0 for t in names
        )
        if ready or time.monotonic() >= deadline:
            return md.topics
        time.sleep(0.1)


def cmd_create_topics(bootstrap: str, path: str, timeout: float) -> int:
    specs = parse_topics_file(path)
    deadline = time.monotonic() + timeout
    conn = connect_retrying(bootstrap, deadline)
    pending, results = list(specs), {}
    while pending:
        res = create_topics(conn, pending, timeout_ms=int(max(1.0, deadline - time.monotonic()) * 1000))
        results.update(res)
        pending = [s for s in pending if res.get(s.name, (0,))[0] in RETRIABLE]
        if pending and time.monotonic() >= deadline:
            break
        if pending:
            time.sleep(0.3)
    names = [s.name for s in specs]
    state = wait_topics_ready(conn, names, deadline)
    conn.close()
    failed = 0
    for s in specs:
        code, msg = results.get(s.name, (-1, "no answer"))
        got = state.get(s.name, (-1, []))
        cfg = " ".join(f"{k}={v}" for k, v in s.configs.items())
        if code == 0:
            print(f"  created  {s.name:<24} partitions={s.partitions} {cfg}")
        elif code == 36:
            note = ""
            if len(got[1]) != s.partitions:
                note = f"  WARNING: has {len(got[1])} partitions, file says {s.partitions}"
            print(f"  exists   {s.name:<24} partitions={len(got[1])}{note}")
        else:
            failed += 1
            print(f"  FAILED   {s.name:<24} {err_name(code)}: {msg}", file=sys.stderr)
            continue
        if got[0] != 0 or not got[1] or min(got[1]) < 0:
            failed += 1
            print(f"  NOT READY {s.name}: no leader for every partition yet", file=sys.stderr)
    return 1 if failed else 0


def cmd_list(bootstrap: str, timeout: float) -> int:
    conn = connect_retrying(bootstrap, time.monotonic() + timeout)
    md = metadata(conn, None)
    conn.close()
    for name in sorted(md.topics):
        code, leaders = md.topics[name]
        print(f"{name}\t{len(leaders)}" + ("" if code == 0 else f"\t{err_name(code)}"))
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["wait", "create-topics", "list"])
    p.add_argument("bootstrap")
    p.add_argument("file", nargs="?")
    p.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args(argv)
    if a.command == "wait":
        return cmd_wait(a.bootstrap, a.timeout)
    if a.command == "create-topics":
        if not a.file:
            p.error("create-topics needs FILE")
        return cmd_create_topics(a.bootstrap, a.file, a.timeout)
    return cmd_list(a.bootstrap, a.timeout)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # e.g. `list | head`
        sys.exit(0)
