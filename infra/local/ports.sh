# Port helpers shared by the local stack scripts (sourced, not run). Everything binds 127.0.0.1.

port_free() { # port -> status 0 when 127.0.0.1:port can be bound
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

free_port() { # a port the kernel says is free now
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
