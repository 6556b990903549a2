#!/usr/bin/env bash
# Local HashiCorp Vault for the byok stack.
#
#   infra/vault/vault.sh start-dev              in-memory dev server, fixed root token
#   infra/vault/vault.sh start-durable [DIR]    file storage, scripted init + unseal
#   infra/vault/vault.sh stop                   SIGTERM, then SIGKILL; idempotent
#   infra/vault/vault.sh bootstrap              mounts, policies, tokens, AppRoles -> vault.env
#   infra/vault/vault.sh status                 exit 0 if running and unsealed
#   infra/vault/vault.sh smoke                  access-control smoke test (after bootstrap)
#
# See infra/vault/README.md. Needs: bash, curl, python3 (no jq).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
POLICY_DIR="$SCRIPT_DIR/policies"

RUN_DIR="${BYOK_RUN_DIR:-$REPO_ROOT/.run}"
LOG_FILE="$RUN_DIR/vault.log"
PID_FILE="$RUN_DIR/vault.pid"
MODE_FILE="$RUN_DIR/vault.mode"
ADDR_FILE="$RUN_DIR/vault.addr"
ENV_FILE="$RUN_DIR/vault.env"
INIT_FILE="${BYOK_VAULT_INIT_FILE:-$RUN_DIR/vault-init.json}"
DURABLE_CONFIG="$RUN_DIR/vault-durable.hcl"

DEV_ROOT_TOKEN="${BYOK_VAULT_ROOT_TOKEN:-byok-dev-root}"
START_TIMEOUT="${BYOK_VAULT_START_TIMEOUT:-60}"   # seconds
STOP_TIMEOUT="${BYOK_VAULT_STOP_TIMEOUT:-20}"     # seconds before SIGKILL

KV_MOUNT="byok"
TRANSIT_MOUNT="byok-transit"
POLICY_PREFIX="byok-"
TOKEN_PERIOD="${BYOK_VAULT_TOKEN_PERIOD:-768h}"   # periodic service tokens (renewable)

log() { printf 'vault: %s\n' "$*" >&2; }
die() { printf 'vault: ERROR: %s\n' "$*" >&2; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not installed"; }
need curl
need python3

# Create the run dir; the default one lives in the repo, so make it ignore itself.
ensure_run_dir() {
  mkdir -p "$RUN_DIR"
  if [[ "$RUN_DIR" == "$REPO_ROOT/.run" && ! -e "$RUN_DIR/.gitignore" ]]; then
    printf '*\n' >"$RUN_DIR/.gitignore"
  fi
}

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ----------------------------------------------------------------------------- helpers

vault_bin() {
  if [[ -n "${BYOK_VAULT_BIN:-}" ]]; then
    [[ -x "$BYOK_VAULT_BIN" ]] || die "BYOK_VAULT_BIN=$BYOK_VAULT_BIN is not executable"
    printf '%s\n' "$BYOK_VAULT_BIN"
  else
    "$SCRIPT_DIR/build.sh"   # prints the cached binary path (builds on first use)
  fi
}

# Free TCP port on 127.0.0.1 whose successor is free too (Vault's cluster
# listener defaults to port+1).
free_port() {
  python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    finally:
        t.close(); s.close()
    print(p); break
else:
    raise SystemExit("no free port pair found")
PY
}

port_in_use() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
finally:
    s.close()
sys.exit(1)
PY
}

# json_get EXPR  — evaluate a python expression on the JSON document on stdin
# (bound to `d`); prints str(result), '' for None, JSON for dict/list.
json_get() {
  python3 -c '
import json, sys
raw = sys.stdin.read()
d = json.loads(raw) if raw.strip() else {}
try:
    v = eval(sys.argv[1], {"d": d})
except (KeyError, IndexError, TypeError):
    v = None
if v is None: print("")
elif isinstance(v, bool): print("true" if v else "false")
elif isinstance(v, (dict, list)): print(json.dumps(v))
else: print(v)
' "$1"
}

# json_obj k1 v1 k2 v2 ... — build a JSON object; values starting with '@json:'
# are embedded as raw JSON.
json_obj() {
  python3 -c '
import json, sys
a = sys.argv[1:]
o = {}
for k, v in zip(a[::2], a[1::2]):
    o[k] = json.loads(v[6:]) if v.startswith("@json:") else v
print(json.dumps(o))
' "$@"
}

pid_alive() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against PID reuse: the process must be a vault server.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'vault.* server' || return 1
  fi
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  pid_alive "$pid" || return 1
  printf '%s\n' "$pid"
}

log_tail() {
  if [[ -f "$LOG_FILE" ]]; then
    printf -- '--- last 40 lines of %s ---\n' "$LOG_FILE" >&2
    tail -n 40 "$LOG_FILE" >&2
    printf -- '---\n' >&2
  fi
}

# env_set KEY VALUE — add/replace KEY=VALUE in vault.env (atomic, mode 600).
env_set() {
  ensure_run_dir
  python3 - "$ENV_FILE" "$@" <<'PY'
import os, re, shlex, sys, tempfile
path, kv = sys.argv[1], sys.argv[2:]
updates = dict(zip(kv[::2], kv[1::2]))
lines = []
if os.path.exists(path):
    with open(path) as f:
        lines = f.read().splitlines()
def fmt(k, v):
    # Unquoted when safe (works for `source` and for dotenv parsers alike).
    return f"{k}={v}" if re.fullmatch(r"[A-Za-z0-9_./:@%+=,-]*", v) else f"{k}={shlex.quote(v)}"
out, seen = [], set()
for line in lines:
    k = line.split("=", 1)[0]
    if k in updates:
        if k not in seen:
            out.append(fmt(k, updates[k])); seen.add(k)
    else:
        out.append(line)
for k, v in updates.items():
    if k not in seen:
        out.append(fmt(k, v))
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".vault.env.")
with os.fdopen(fd, "w") as f:
    f.write("\n".join(out) + "\n")
os.chmod(tmp, 0o600)
os.replace(tmp, path)
PY
}

# env_get KEY — value of KEY from vault.env ('' if absent).
env_get() {
  [[ -f "$ENV_FILE" ]] || { echo ""; return 0; }
  python3 - "$ENV_FILE" "$1" <<'PY'
import shlex, sys
path, key = sys.argv[1], sys.argv[2]
val = ""
with open(path) as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith(key + "="):
            raw = line.split("=", 1)[1]
            try:
                parts = shlex.split(raw)
                val = parts[0] if parts else ""
            except ValueError:
                val = raw
print(val)
PY
}

# HTTP status of GET /v1/sys/health on ADDR ('000' if no answer).
health_code() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/v1/sys/health" 2>/dev/null || true
}

# wait_for ADDR PID WANT_REGEX — poll /v1/sys/health until its status matches.
wait_for() {
  local addr="$1" pid="$2" want="$3" code="000"
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail
      rm -f "$PID_FILE" "$MODE_FILE" "$ADDR_FILE"
      die "vault server (pid $pid) exited during startup; see $LOG_FILE"
    fi
    code="$(health_code "$addr")"
    [[ "$code" =~ $want ]] && return 0
    sleep 0.2
  done
  log_tail
  kill_launched "$pid"
  die "vault at $addr not ready after ${START_TIMEOUT}s (last /v1/sys/health status: $code); stopped it; see $LOG_FILE"
}

# kill_launched PID — tear down a server that failed to come up.
kill_launched() {
  kill -TERM "$1" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  kill -KILL "$1" 2>/dev/null || true
  rm -f "$PID_FILE" "$MODE_FILE" "$ADDR_FILE"
}

# api_req METHOD PATH [JSON] — call the Vault HTTP API at $VADDR with $VTOKEN.
# Sets API_STATUS and API_BODY in the current shell (do not call in $(...)).
api_req() {
  local method="$1" path="$2" data="${3:-}" out
  out="$(mktemp)"
  local args=(-sS -m 30 -o "$out" -w '%{http_code}' -X "$method"
              -H "X-Vault-Token: ${VTOKEN:-}" -H 'Content-Type: application/json')
  [[ -n "$data" ]] && args+=(--data-binary "$data")
  API_STATUS="$(curl "${args[@]}" "$VADDR/v1/$path" 2>/dev/null)" || API_STATUS="000"
  API_BODY="$(cat "$out")"
  rm -f "$out"
}

# api METHOD PATH [JSON] — like api_req but prints the body and dies on non-2xx.
api() {
  local API_STATUS API_BODY
  api_req "$@"
  [[ "$API_STATUS" =~ ^2 ]] || die "$1 $VADDR/v1/$2 -> HTTP $API_STATUS: $API_BODY"
  printf '%s' "$API_BODY"
}

# ----------------------------------------------------------------------------- start / stop

check_not_running() {
  local pid
  if pid="$(running_pid)"; then
    local mode; mode="$(cat "$MODE_FILE" 2>/dev/null || echo unknown)"
    if [[ "$mode" == "$1" ]]; then
      log "already running ($mode, pid $pid, $(cat "$ADDR_FILE" 2>/dev/null))"
      return 1
    fi
    die "a $mode vault is already running (pid $pid); run '$0 stop' first"
  fi
  return 0
}

pick_port() {
  local port="${BYOK_VAULT_PORT:-}"
  if [[ -n "$port" ]]; then
    [[ "$port" =~ ^[0-9]+$ ]] || die "BYOK_VAULT_PORT must be a number, got '$port'"
    port_in_use "$port" && die "BYOK_VAULT_PORT=$port is already in use on 127.0.0.1"
    port_in_use "$((port + 1))" && die "port $((port + 1)) (cluster port = BYOK_VAULT_PORT+1) is already in use"
  else
    port="$(free_port)"
  fi
  printf '%s\n' "$port"
}

launch() { # launch MODE ARGS... — start vault server in the background
  local mode="$1"; shift
  ensure_run_dir
  printf '\n=== %s: vault server %s ===\n' "$(date -u +%FT%TZ)" "$mode" >>"$LOG_FILE"
  # New session so that it outlives the calling shell; no inherited client env.
  env -u VAULT_TOKEN -u VAULT_ADDR -u VAULT_NAMESPACE \
    setsid "$@" >>"$LOG_FILE" 2>&1 </dev/null &
  LAUNCHED_PID=$!
  printf '%s\n' "$LAUNCHED_PID" >"$PID_FILE"
  printf '%s\n' "$mode" >"$MODE_FILE"
}

cmd_start_dev() {
  check_not_running dev || return 0
  local bin port addr
  bin="$(vault_bin)"
  port="$(pick_port)"
  addr="http://127.0.0.1:$port"
  log "starting dev server on $addr (log: $LOG_FILE)"
  launch dev "$bin" server -dev \
    -dev-listen-address="127.0.0.1:$port" \
    -dev-root-token-id="$DEV_ROOT_TOKEN" \
    -dev-no-store-token
  printf '%s\n' "$addr" >"$ADDR_FILE"
  wait_for "$addr" "$LAUNCHED_PID" '^200$'
  # Fresh in-memory server: tokens from any earlier run are void.
  rm -f "$ENV_FILE"
  env_set BYOK_VAULT_ADDR "$addr" BYOK_VAULT_ROOT_TOKEN "$DEV_ROOT_TOKEN" BYOK_VAULT_MODE dev
  log "dev server ready at $addr (pid $LAUNCHED_PID); env: $ENV_FILE"
}

cmd_start_durable() {
  local data_dir="${1:-${BYOK_VAULT_DATA_DIR:-$RUN_DIR/vault-data}}"
  check_not_running durable || return 0
  local bin port addr
  bin="$(vault_bin)"
  mkdir -p "$data_dir"
  data_dir="$(cd "$data_dir" && pwd)"
  port="$(pick_port)"
  addr="http://127.0.0.1:$port"
  ensure_run_dir
  cat >"$DURABLE_CONFIG" <<EOF
# Generated by infra/vault/vault.sh start-durable — do not edit.
storage "file" {
  path = "$data_dir"
}
listener "tcp" {
  address         = "127.0.0.1:$port"
  cluster_address = "127.0.0.1:$((port + 1))"
  tls_disable     = true
}
api_addr      = "$addr"
cluster_addr  = "https://127.0.0.1:$((port + 1))"
disable_mlock = true
ui            = false
EOF
  log "starting durable server on $addr, data in $data_dir (log: $LOG_FILE)"
  launch durable "$bin" server -config="$DURABLE_CONFIG"
  local pid="$LAUNCHED_PID"
  printf '%s\n' "$addr" >"$ADDR_FILE"
  # Any HTTP answer: 501 = not initialised, 503 = sealed, 200 = active.
  wait_for "$addr" "$pid" '^(200|429|472|473|501|503)$'

  local VADDR="$addr" VTOKEN="" initialized
  initialized="$(api GET sys/init | json_get 'd["initialized"]')"
  if [[ "$initialized" != "true" ]]; then
    if [[ -s "$INIT_FILE" ]]; then
      local prev; prev="$(json_get 'd.get("data_dir")' <"$INIT_FILE")"
      if [[ "$prev" == "$data_dir" ]]; then
        log "replacing stale $INIT_FILE ($data_dir was reset)"
      elif [[ -n "$prev" && -d "$prev" && -n "$(ls -A "$prev" 2>/dev/null)" ]]; then
        kill_launched "$pid"
        die "$INIT_FILE holds the unseal key of $prev; not overwriting it. Use BYOK_VAULT_INIT_FILE=<file> (or another BYOK_RUN_DIR) for $data_dir"
      else
        log "replacing $INIT_FILE (its data dir ${prev:-?} is gone)"
      fi
    fi
    log "initialising (1 key share, threshold 1)"
    local init
    init="$(api PUT sys/init '{"secret_shares":1,"secret_threshold":1}')"
    ( umask 077
      printf '%s' "$init" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["data_dir"] = sys.argv[1]
d["addr_at_init"] = sys.argv[2]
print(json.dumps(d, indent=2))' "$data_dir" "$addr" >"$INIT_FILE.tmp" )
    chmod 600 "$INIT_FILE.tmp"
    mv -f "$INIT_FILE.tmp" "$INIT_FILE"
    rm -f "$ENV_FILE"   # tokens of a previous data dir are void
    log "unseal key + root token stored in $INIT_FILE (mode 600)"
  fi
  if [[ ! -s "$INIT_FILE" ]]; then
    kill_launched "$pid"
    die "$data_dir is initialised but $INIT_FILE is missing; cannot unseal (delete $data_dir to start over)"
  fi
  local prev_dir; prev_dir="$(json_get 'd.get("data_dir")' <"$INIT_FILE")"
  if [[ -n "$prev_dir" && "$prev_dir" != "$data_dir" ]]; then
    kill_launched "$pid"
    die "$INIT_FILE belongs to $prev_dir, not $data_dir (set BYOK_VAULT_INIT_FILE)"
  fi

  local sealed key root
  key="$(json_get 'd["keys_base64"][0]' <"$INIT_FILE")"
  root="$(json_get 'd["root_token"]' <"$INIT_FILE")"
  [[ -n "$key" && -n "$root" ]] || die "$INIT_FILE lacks keys_base64/root_token"
  sealed="$(api GET sys/seal-status | json_get 'd["sealed"]')"
  if [[ "$sealed" == "true" ]]; then
    log "unsealing"
    sealed="$(api PUT sys/unseal "$(json_obj key "$key")" | json_get 'd["sealed"]')"
    if [[ "$sealed" != "false" ]]; then
      kill_launched "$pid"
      die "unseal did not complete (wrong key for $data_dir?)"
    fi
  fi
  wait_for "$addr" "$pid" '^200$'
  # Keep bootstrapped tokens only if they belong to this data dir.
  if [[ "$(env_get BYOK_VAULT_MODE)" != durable || "$(env_get BYOK_VAULT_DATA_DIR)" != "$data_dir" ]]; then
    rm -f "$ENV_FILE"
  fi
  env_set BYOK_VAULT_ADDR "$addr" BYOK_VAULT_ROOT_TOKEN "$root" BYOK_VAULT_MODE durable \
          BYOK_VAULT_DATA_DIR "$data_dir"
  log "durable server ready at $addr (pid $pid); env: $ENV_FILE"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    rm -f "$PID_FILE" "$MODE_FILE" "$ADDR_FILE"
    return 0
  fi
  log "stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${STOP_TIMEOUT}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE" "$MODE_FILE" "$ADDR_FILE"
  log "stopped"
}

# ----------------------------------------------------------------------------- status

cmd_status() {
  local pid addr mode
  if ! pid="$(running_pid)"; then
    echo "vault: not running"
    return 1
  fi
  addr="$(cat "$ADDR_FILE" 2>/dev/null || true)"
  mode="$(cat "$MODE_FILE" 2>/dev/null || echo unknown)"
  local health
  health="$(curl -s -m 3 "$addr/v1/sys/health" 2>/dev/null || true)"
  echo "vault: running ($mode), pid $pid, $addr"
  if [[ -z "$health" ]]; then
    echo "vault: no answer from $addr/v1/sys/health"
    return 1
  fi
  printf '%s' "$health" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("vault: version %s, initialized=%s, sealed=%s, standby=%s" % (
    d.get("version"), d.get("initialized"), d.get("sealed"), d.get("standby")))'
  if [[ -f "$ENV_FILE" ]]; then
    if grep -q '^BYOK_VAULT_TOKEN_' "$ENV_FILE"; then
      echo "vault: env file $ENV_FILE (bootstrapped)"
    else
      echo "vault: env file $ENV_FILE (not bootstrapped yet)"
    fi
  fi
  [[ "$(printf '%s' "$health" | json_get 'd.get("sealed")')" == "false" ]]
}

# ----------------------------------------------------------------------------- bootstrap

load_target() { # sets VADDR / VTOKEN from vault.env, else from the environment
  VADDR="$(env_get BYOK_VAULT_ADDR)"; VADDR="${VADDR:-${BYOK_VAULT_ADDR:-}}"
  VTOKEN="$(env_get BYOK_VAULT_ROOT_TOKEN)"; VTOKEN="${VTOKEN:-${BYOK_VAULT_ROOT_TOKEN:-}}"
  [[ -n "$VADDR" ]] || die "no Vault address: run '$0 start-dev' (or start-durable) first, or set BYOK_VAULT_ADDR"
  [[ -n "$VTOKEN" ]] || die "no root token in $ENV_FILE nor BYOK_VAULT_ROOT_TOKEN"
  local code; code="$(health_code "$VADDR")"
  [[ "$code" == 200 ]] || die "Vault at $VADDR is not ready (sys/health -> $code); is it running and unsealed?"
}

services() { # service names = policy file basenames
  local f found=0
  for f in "$POLICY_DIR"/*.hcl; do
    [[ -e "$f" ]] || continue
    found=1; basename "$f" .hcl
  done
  ((found)) || die "no policies in $POLICY_DIR"
}

ensure_mount() { # ensure_mount PATH TYPE OPTIONS_JSON
  local path="$1" type="$2" opts="$3" mounts existing
  mounts="$(api GET sys/mounts)"
  existing="$(printf '%s' "$mounts" | json_get "(d.get('data') or d).get('$path/', {}).get('type')")"
  if [[ -z "$existing" ]]; then
    log "enabling $type secrets engine at $path/"
    api POST "sys/mounts/$path" "$(json_obj type "$type" options "@json:$opts")" >/dev/null
  elif [[ "$existing" != "$type" ]]; then
    die "mount $path/ exists with type '$existing', expected '$type'"
  else
    log "$type already mounted at $path/"
  fi
  if [[ "$type" == kv ]]; then
    local ver
    ver="$(api GET sys/mounts | json_get "(d.get('data') or d)['$path/']['options'].get('version')")"
    [[ "$ver" == 2 ]] || die "mount $path/ is KV version '${ver:-1}', expected 2"
  fi
}

ensure_auth() { # ensure_auth PATH TYPE
  local path="$1" type="$2" existing
  existing="$(api GET sys/auth | json_get "(d.get('data') or d).get('$path/', {}).get('type')")"
  if [[ -z "$existing" ]]; then
    log "enabling $type auth at auth/$path/"
    api POST "sys/auth/$path" "$(json_obj type "$type")" >/dev/null
  elif [[ "$existing" != "$type" ]]; then
    die "auth mount $path/ exists with type '$existing', expected '$type'"
  fi
}

# token_ok TOKEN POLICY — does TOKEN exist and carry POLICY?
token_ok() {
  [[ -n "$1" ]] || return 1
  local API_STATUS API_BODY
  api_req POST auth/token/lookup "$(json_obj token "$1")"
  [[ "$API_STATUS" == 200 ]] || return 1
  [[ "$(printf '%s' "$API_BODY" | json_get "'$2' in (d['data'].get('policies') or [])")" == true ]]
}

# secret_id_ok ROLE SECRET_ID
secret_id_ok() {
  [[ -n "$2" ]] || return 1
  local API_STATUS API_BODY
  api_req POST "auth/approle/role/$1/secret-id/lookup" "$(json_obj secret_id "$2")"
  [[ "$API_STATUS" == 200 ]] || return 1
  [[ -n "$(printf '%s' "$API_BODY" | json_get 'd.get("data") and d["data"].get("secret_id_accessor")')" ]]
}

cmd_bootstrap() {
  local VADDR VTOKEN
  load_target
  log "bootstrapping $VADDR"

  ensure_mount "$KV_MOUNT" kv '{"version":"2"}'
  ensure_mount "$TRANSIT_MOUNT" transit '{}'
  ensure_auth approle approle

  local svcs svc upper policy f tok role_id secret_id
  svcs="$(services)"
  local -a env_kv=(BYOK_VAULT_ADDR "$VADDR" BYOK_VAULT_ROOT_TOKEN "$VTOKEN"
                   BYOK_VAULT_KV_MOUNT "$KV_MOUNT" BYOK_VAULT_TRANSIT_MOUNT "$TRANSIT_MOUNT")
  for svc in $svcs; do
    upper="$(printf '%s' "$svc" | tr '[:lower:]-' '[:upper:]_')"
    policy="$POLICY_PREFIX$svc"
    f="$POLICY_DIR/$svc.hcl"

    # Policy (PUT is an upsert).
    api PUT "sys/policies/acl/$policy" "$(json_obj policy "$(cat "$f")")" >/dev/null

    # Token role: orphan, periodic, renewable, only this service's policy.
    api POST "auth/token/roles/$policy" "$(json_obj \
      allowed_policies "@json:[\"$policy\"]" \
      orphan "@json:true" renewable "@json:true" \
      token_period "$TOKEN_PERIOD" token_type service)" >/dev/null

    tok="$(env_get "BYOK_VAULT_TOKEN_$upper")"
    if token_ok "$tok" "$policy"; then
      log "$svc: reusing token from $ENV_FILE"
    else
      tok="$(api POST "auth/token/create/$policy" "$(json_obj \
        policies "@json:[\"$policy\"]" display_name "$svc" period "$TOKEN_PERIOD" \
        meta "@json:{\"service\":\"$svc\"}")" | json_get 'd["auth"]["client_token"]')"
      [[ -n "$tok" ]] || die "$svc: token creation returned no token"
      log "$svc: created periodic token (policies: default, $policy; period $TOKEN_PERIOD)"
    fi

    # AppRole role: login yields a token with default + this policy only.
    api POST "auth/approle/role/$svc" "$(json_obj \
      token_policies "@json:[\"$policy\"]" token_type service \
      token_ttl 1h token_max_ttl 24h secret_id_ttl 0 secret_id_num_uses "@json:0")" >/dev/null
    role_id="$(api GET "auth/approle/role/$svc/role-id" | json_get 'd["data"]["role_id"]')"
    secret_id="$(env_get "BYOK_VAULT_SECRET_ID_$upper")"
    if secret_id_ok "$svc" "$secret_id"; then
      log "$svc: reusing AppRole secret_id from $ENV_FILE"
    else
      secret_id="$(api POST "auth/approle/role/$svc/secret-id" '{}' | json_get 'd["data"]["secret_id"]')"
      [[ -n "$secret_id" ]] || die "$svc: secret-id generation returned nothing"
      log "$svc: AppRole role '$svc' ready, new secret_id issued"
    fi

    env_kv+=("BYOK_VAULT_TOKEN_$upper" "$tok"
             "BYOK_VAULT_ROLE_ID_$upper" "$role_id"
             "BYOK_VAULT_SECRET_ID_$upper" "$secret_id")
  done

  env_set "${env_kv[@]}"
  log "bootstrap done; source $ENV_FILE"
}

# ----------------------------------------------------------------------------- smoke test

cmd_smoke() {
  local VADDR VTOKEN API_STATUS="" API_BODY="" fails=0 passes=0
  load_target
  local root="$VTOKEN"
  local kv_tok inf_tok bill_tok
  kv_tok="$(env_get BYOK_VAULT_TOKEN_KEYVAULT)"
  inf_tok="$(env_get BYOK_VAULT_TOKEN_INFERENCE)"
  bill_tok="$(env_get BYOK_VAULT_TOKEN_BILLING)"
  [[ -n "$kv_tok" && -n "$inf_tok" && -n "$bill_tok" ]] || die "run '$0 bootstrap' first"

  local id="smoke-$$-$RANDOM"
  check() { # check NAME WANT_CODE TOKEN METHOD PATH [DATA]
    local name="$1" want="$2"
    VTOKEN="$3" api_req "$4" "$5" "${6:-}"
    if [[ "$API_STATUS" == "$want" ]]; then
      passes=$((passes + 1)); echo "ok    $name (HTTP $API_STATUS)"
    else
      fails=$((fails + 1)); echo "FAIL  $name (HTTP $API_STATUS, want $want)"
    fi
  }
  local secret='{"data":{"api_key":"sk-smoke"}}'
  check "keyvault writes tenant user key"    200 "$kv_tok"   POST "$KV_MOUNT/data/tenants/$id/users/u1/openai" "$secret"
  check "keyvault reads tenant user key"     200 "$kv_tok"   GET  "$KV_MOUNT/data/tenants/$id/users/u1/openai"
  check "keyvault writes org key"            200 "$kv_tok"   POST "$KV_MOUNT/data/tenants/$id/org/anthropic" "$secret"
  check "inference reads tenant user key"    200 "$inf_tok"  GET  "$KV_MOUNT/data/tenants/$id/users/u1/openai"
  check "inference cannot write tenant key"  403 "$inf_tok"  POST "$KV_MOUNT/data/tenants/$id/users/u1/openai" "$secret"
  check "billing cannot read tenant key"     403 "$bill_tok" GET  "$KV_MOUNT/data/tenants/$id/users/u1/openai"
  check "keyvault creates sealing private"   200 "$kv_tok"   POST "$KV_MOUNT/data/sealing/private/$id" '{"data":{"pem":"PRIVATE"}}'
  check "keyvault cannot read sealing private"      403 "$kv_tok" GET  "$KV_MOUNT/data/sealing/private/$id"
  check "keyvault cannot overwrite sealing private" 403 "$kv_tok" POST "$KV_MOUNT/data/sealing/private/$id" '{"data":{"pem":"X"}}'
  check "inference reads sealing private"    200 "$inf_tok"  GET  "$KV_MOUNT/data/sealing/private/$id"
  check "keyvault writes sealing public"     200 "$kv_tok"   POST "$KV_MOUNT/data/sealing/public/$id" '{"data":{"pem":"PUBLIC"}}'
  check "inference reads sealing public"     200 "$inf_tok"  GET  "$KV_MOUNT/data/sealing/public/$id"
  check "inference lists sealing kids"       200 "$inf_tok"  LIST "$KV_MOUNT/metadata/sealing/private"
  check "keyvault writes system key"         200 "$kv_tok"   POST "$KV_MOUNT/data/system/smoke-$id" "$secret"
  check "inference reads system key"         200 "$inf_tok"  GET  "$KV_MOUNT/data/system/smoke-$id"
  check "keyvault transit encrypt"           200 "$kv_tok"   POST "$TRANSIT_MOUNT/encrypt/keyvault-smoke" '{"plaintext":"aGVsbG8="}'
  check "inference cannot use transit"       403 "$inf_tok"  POST "$TRANSIT_MOUNT/encrypt/keyvault-smoke" '{"plaintext":"aGVsbG8="}'

  local ct pt
  ct="$(VTOKEN="$kv_tok" api POST "$TRANSIT_MOUNT/encrypt/keyvault-smoke" '{"plaintext":"aGVsbG8="}' | json_get 'd["data"]["ciphertext"]')"
  pt="$(VTOKEN="$kv_tok" api POST "$TRANSIT_MOUNT/decrypt/keyvault-smoke" "$(json_obj ciphertext "$ct")" | json_get 'd["data"]["plaintext"]')"
  if [[ "$pt" == "aGVsbG8=" ]]; then passes=$((passes + 1)); echo "ok    transit round trip"
  else fails=$((fails + 1)); echo "FAIL  transit round trip (got '$pt')"; fi

  # Clean up with the root token (smoke data only).
  VTOKEN="$root"
  for p in "tenants/$id/users/u1/openai" "tenants/$id/org/anthropic" "sealing/private/$id" \
           "sealing/public/$id" "system/smoke-$id"; do
    api_req DELETE "$KV_MOUNT/metadata/$p"
  done
  echo "smoke: $passes passed, $fails failed"
  ((fails == 0))
}

# ----------------------------------------------------------------------------- main

main() {
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    start-dev)     cmd_start_dev "$@" ;;
    start-durable) cmd_start_durable "$@" ;;
    stop)          cmd_stop "$@" ;;
    bootstrap)     cmd_bootstrap "$@" ;;
    status)        cmd_status "$@" ;;
    smoke)         cmd_smoke "$@" ;;
    -h|--help|help|"") usage; [[ -n "$cmd" ]] ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
