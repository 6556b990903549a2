# Shell helpers shared by every infra script (sourced, not run). Set LOG_TAG before sourcing.
# Everything binds 127.0.0.1; state lives in $BYOK_RUN_DIR, downloads and builds in $BYOK_CACHE_DIR.

INFRA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$INFRA/.." && pwd)"
export BYOK_RUN_DIR="${BYOK_RUN_DIR:-$REPO/.run}"
export BYOK_CACHE_DIR="${BYOK_CACHE_DIR:-$HOME/.cache/byok}"
PY="$REPO/.venv/bin/python"   # the workspace venv (make install): hvac, aiokafka, sqlalchemy

log() { printf '[%s] %s\n' "${LOG_TAG:-byok}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s%N; }
elapsed() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100)); }
need_venv() { [[ -x "$PY" ]] || die "no Python workspace at $REPO/.venv: run 'make install'"; }

running_pid() { # pidfile cmdline-pattern -> prints the pid when that process is alive and matches
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(head -n 1 "$1" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1 # a recycled pid is not ours
  echo "$pid"
}

stop_pid() { # name pid [timeout-s]: SIGTERM, wait, SIGKILL
  local deadline=$((SECONDS + ${3:-30}))
  kill -TERM "$2" 2>/dev/null || return 0
  while kill -0 "$2" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$1 (pid $2) still running after ${3:-30}s: SIGKILL"
      kill -KILL "$2" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
}

write_env() { # file KEY=VALUE...: atomically, created 0600 (it may hold secrets)
  mkdir -p "$(dirname "$1")"
  (umask 077 && printf '%s\n' "${@:2}" >"$1.tmp.$$") && mv -f "$1.tmp.$$" "$1"
}

env_value() { # file KEY -> the value of KEY=... in file (empty when absent)
  [[ -f "$1" ]] && sed -n "s/^$2=//p" "$1" | tail -n 1
}

port_free() { # port -> status 0 when 127.0.0.1:port can be bound now
  python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

free_port() { # a free port below the kernel's ephemeral range (infra/local/free_port.py)
  python3 "$INFRA/local/free_port.py"
}

preferred_port() { # port -> that port when free, else a free one
  if port_free "$1"; then echo "$1"; else free_port; fi
}

only_env() { # names...: unset every exported variable but these (call in the subshell that then execs)
  local name keep=" PATH HOME LANG TZ TMPDIR $* "
  for name in $(compgen -e); do [[ $keep == *" $name "* ]] || unset "$name" 2>/dev/null || true; done
}

apt_install() { # packages...: Debian packages, as root or through sudo; a stale package list is refreshed once
  local sudo=""
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "installing $* needs root or sudo (apt-get install $*)"
    sudo="sudo -n"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
  fi
}
