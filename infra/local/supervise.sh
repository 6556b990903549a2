#!/usr/bin/env bash
# Runs one service and starts it again whenever it dies, as `restart: unless-stopped` or a systemd unit would:
#
#   supervise.sh NAME COMMAND...
#
# services.sh starts it with an empty environment; the service's own settings come from
# $BYOK_RUN_DIR/env/NAME.env (0600). In $BYOK_RUN_DIR: NAME.pid (the service), NAME.restarts (count and last
# cause, zeroed by services.sh), NAME.log (the
# service's output and a line per death saying why). SIGTERM stops the service and then the supervisor.
set -uo pipefail
name=$1
shift
run="$BYOK_RUN_DIR"
set -a
# shellcheck disable=SC1090
source "$run/env/$name.env"
set +a

note() { printf '[supervise] %s %s %s\n' "$(date -u +%FT%TZ)" "$name" "$*" >>"$run/$name.log"; }
stopping=0 child="" restarts=0 delay=1
trap 'stopping=1; [[ -n $child ]] && kill -TERM "$child" 2>/dev/null' TERM INT

while :; do
  started=$SECONDS
  "$@" >>"$run/$name.log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$run/$name.pid"
  while :; do # a trapped signal interrupts wait; wait again until the child is gone
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  ((stopping)) && break
  if ((rc > 128)); then why="killed by signal $(kill -l $((rc - 128)))"; else why="exit code $rc"; fi
  ((SECONDS - started >= 60)) && delay=1 # it had been running a while: back to the shortest back-off
  restarts=$((restarts + 1))
  echo "$restarts $why" >"$run/$name.restarts"
  note "(pid $child) died: $why; restart $restarts in ${delay}s"
  sleep "$delay" &
  wait $! || kill $! 2>/dev/null # a SIGTERM during the back-off ends it
  ((stopping)) && break
  delay=$((delay * 2 > 30 ? 30 : delay * 2))
done
rm -f "$run/$name.pid"
note "stopped"
