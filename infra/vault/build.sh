#!/usr/bin/env bash
# Build a pinned HashiCorp Vault server binary from source, fetched through the
# Go module proxy, and cache it outside the repo.
#
#   infra/vault/build.sh            # prints the binary path on stdout
#   VAULT_BIN=$(infra/vault/build.sh)
#
# Env:
#   BYOK_CACHE_DIR        cache root (default: $HOME/.cache/byok)
#   BYOK_VAULT_VERSION    Vault version to build (default: pinned below)
#   BYOK_VAULT_BUILD_TAGS extra go build tags (default: none = full server,
#                         which is required for the "file" storage backend)
#   GO                    go binary (default: go on PATH, else /usr/local/go/bin/go)
#
# Why not `go install github.com/hashicorp/vault@vX`? The main module's go.mod
# has `replace github.com/hashicorp/vault/{api,sdk,api/auth/*} => ./...` local
# path replaces, and those nested modules are not part of the module zip, so
# `go install` refuses it. We copy the module into a writable dir, drop the
# local-path replaces (keeping module->module replaces) so the versions the
# main go.mod requires are used from the proxy, and `go build` there.
#
# Progress goes to stderr; the only stdout line is the binary path.
set -euo pipefail

# Pinned: 1.21.1 is the newest release that builds unpatched from the proxy.
# From 1.21.2 on, the release branch's nested sdk/ module diverges from every
# published sdk tag (e.g. 1.21.4 needs the old 2-arg framework.ActivationFunc
# of sdk <= v0.20.0 *and* TryRecordObservationWithRequest / 2-value
# keysutil RestorePolicy of sdk >= v0.21.0/v0.24.0), and the proxy serves no
# pseudo-versions of those release commits. 1.21.1 pairs with sdk v0.20.0.
VAULT_VERSION="${BYOK_VAULT_VERSION:-1.21.1}"
VAULT_VERSION="${VAULT_VERSION#v}"
VAULT_MODULE="github.com/hashicorp/vault"
CACHE_ROOT="${BYOK_CACHE_DIR:-$HOME/.cache/byok}"
VDIR="$CACHE_ROOT/vault/$VAULT_VERSION"
BIN="$VDIR/bin/vault"
BUILD_TAGS="${BYOK_VAULT_BUILD_TAGS:-}"

log() { printf 'vault: %s\n' "$*" >&2; }
die() { printf 'vault: ERROR: %s\n' "$*" >&2; exit 1; }

cached_ok() {
  [[ -x "$BIN" ]] && "$BIN" version >/dev/null 2>&1
}

if cached_ok; then
  log "using cached $("$BIN" version 2>/dev/null | head -n1) at $BIN"
  printf '%s\n' "$BIN"
  exit 0
fi

mkdir -p "$VDIR/bin"

# Serialise concurrent builds of the same version (e.g. two terminals, CI).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VDIR/.build.lock"
  if ! flock -n 9; then
    log "another build of $VAULT_VERSION is running; waiting for it…"
    flock 9
  fi
  if cached_ok; then
    log "using cached $("$BIN" version 2>/dev/null | head -n1) at $BIN"
    printf '%s\n' "$BIN"
    exit 0
  fi
fi

# --- Go toolchain ------------------------------------------------------------
GO="${GO:-}"
if [[ -z "$GO" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else die "no Go toolchain found (install Go >= 1.25 or set GO=/path/to/go)"
  fi
fi
command -v python3 >/dev/null 2>&1 || die "python3 is required (JSON parsing)"

export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false"
# Keep GOMODCACHE/GOCACHE at their defaults (or whatever the caller set) so a
# rebuild after a cache wipe of $VDIR is still fast.

json_field() { # json_field FIELD  (reads one JSON object on stdin)
  python3 -c 'import json,sys; d=json.load(sys.stdin); v=d.get(sys.argv[1]); print(v if v is not None else "")' "$1"
}

# --- download ------------------------------------------------------------------
log "downloading $VAULT_MODULE@v$VAULT_VERSION via the Go module proxy ($("$GO" env GOPROXY))…"
dl_err="$VDIR/download.err"
dl_json="$(cd "$VDIR" && "$GO" mod download -json "$VAULT_MODULE@v$VAULT_VERSION" 2>"$dl_err")" \
  || die "go mod download failed: $(cat "$dl_err") $dl_json"
mod_dir="$(printf '%s' "$dl_json" | json_field Dir)"
mod_err="$(printf '%s' "$dl_json" | json_field Error)"
[[ -z "$mod_err" ]] || die "go mod download: $mod_err"
[[ -n "$mod_dir" && -f "$mod_dir/go.mod" ]] || die "module dir not found after download: $dl_json"
src_time="$(printf '%s' "$dl_json" | json_field Info | xargs -r cat 2>/dev/null | json_field Time || true)"

SRC="$VDIR/src"
rm -rf "$SRC" "$SRC.tmp"
cp -R "$mod_dir" "$SRC.tmp"
chmod -R u+w "$SRC.tmp"
mv "$SRC.tmp" "$SRC"
cd "$SRC"

# Toolchain new enough for the module's `go` directive? If not, let the go
# command fetch the matching toolchain through the proxy.
need_go="$("$GO" mod edit -json | json_field Go)"
have_go="$("$GO" env GOVERSION)"; have_go="${have_go#go}"
if [[ -n "$need_go" && "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n1)" != "$need_go" ]]; then
  want="go$(cat .go-version 2>/dev/null || echo "$need_go")"
  log "local Go $have_go is older than the required $need_go; using GOTOOLCHAIN=$want"
  export GOTOOLCHAIN="$want"
fi

# Drop the local-path replaces (./api, ./sdk, ./api/auth/...); keep the rest.
local_replaces="$("$GO" mod edit -json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for r in d.get("Replace") or []:
    p = r["New"]["Path"]
    if p.startswith("./") or p.startswith("../") or p.startswith("/"):
        print(r["Old"]["Path"])
')"
nested=()
for old in $local_replaces; do
  "$GO" mod edit -dropreplace="$old"
  nested+=("$old")
done
log "dropped local replaces: ${nested[*]:-(none)}"

log "downloading dependencies (first run fetches a few hundred modules)…"
# `go list -deps` loads exactly the packages the server needs, downloading
# their modules and recording go.sum entries for the nested modules.
deps_log="$VDIR/deps.log"
if ! "$GO" list -mod=mod -deps ${BUILD_TAGS:+-tags "$BUILD_TAGS"} . >/dev/null 2>"$deps_log"; then
  tail -n 30 "$deps_log" >&2
  die "dependency resolution failed (full log: $deps_log)"
fi
log "  $(grep -c '^go: downloading' "$deps_log" || true) modules downloaded (log: $deps_log)"

{
  echo "vault $VAULT_VERSION built from $VAULT_MODULE@v$VAULT_VERSION ($(date -u +%FT%TZ))"
  echo "go: $("$GO" version)"
  echo "tags: ${BUILD_TAGS:-<none>}"
  for m in "${nested[@]}"; do "$GO" list -mod=mod -m "$m" 2>/dev/null || true; done
} >"$VDIR/BUILD_INFO"
while read -r line; do log "  using $line"; done < <(tail -n +4 "$VDIR/BUILD_INFO")

# --- build ----------------------------------------------------------------------
log "building… (this takes several minutes on a cold cache)"
ldflags="-s -w -X $VAULT_MODULE/version.GitCommit=modproxy-v$VAULT_VERSION"
[[ -n "$src_time" ]] && ldflags+=" -X $VAULT_MODULE/version.BuildDate=$src_time"
start=$SECONDS
"$GO" build -mod=mod -trimpath ${BUILD_TAGS:+-tags "$BUILD_TAGS"} -ldflags "$ldflags" \
  -o "$BIN.tmp" . &
build_pid=$!
# Heartbeat so CI logs show progress during the long compile.
while kill -0 "$build_pid" 2>/dev/null; do
  for _ in $(seq 1 60); do
    kill -0 "$build_pid" 2>/dev/null || break
    sleep 1
  done
  kill -0 "$build_pid" 2>/dev/null && log "  still building ($((SECONDS - start))s)…"
done
if ! wait "$build_pid"; then
  rm -f "$BIN.tmp"
  die "go build failed (source left in $SRC for inspection)"
fi
mv -f "$BIN.tmp" "$BIN"
rm -f "$dl_err"
"$BIN" version >/dev/null 2>&1 || die "built binary does not run: $BIN"
log "built $("$BIN" version | head -n1) in $((SECONDS - start))s -> $BIN"

# Source tree is not needed any more (module + build caches keep rebuilds fast).
cd "$VDIR"
rm -rf "$SRC"
printf '%s\n' "$BIN"
