#!/usr/bin/env bash
# Prove the container image's install and start steps without a container engine.
#
# deploy/image/rehearse.py replays the Dockerfile's build stage (the very same pip commands)
# into a scratch root, with a fresh virtual environment's Python standing in for the base
# image's. Then, with the final stage's ENV and WORKDIR:
#   1. the image's environment has no pip, and the ENTRYPOINT + CMD (`scanner serve`) starts,
#      answers /healthz and keeps its state in the WORKDIR (the state volume) and nowhere else;
#   2. with the demo extra added (moto, pinned by the image's requirements), `scanner demo --serve`
#      scans the emulated organization until /readyz answers and /metrics has the control status;
# and nothing is written into the installed environment at run time (read-only root).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "check-image: $*" >&2; exit 1; }

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL SECONDS PID: until URL answers 200, or fail (showing the daemon's log).
wait_for() {
  local url="$1" deadline=$((SECONDS + $2)) pid="$3"
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/daemon.log" >&2; fail "the daemon exited before $url answered"; }
    [ "$SECONDS" -lt "$deadline" ] || { cat "$work/daemon.log" >&2; fail "$url did not answer in $2 s"; }
    sleep 1
  done
}

# stop PID: SIGTERM, as the kubelet does; the daemon must exit 0.
stop() {
  kill -TERM "$1"
  local status=0
  wait "$1" || status=$?
  [ "$status" -eq 0 ] || { cat "$work/daemon.log" >&2; fail "the daemon exited $status on SIGTERM"; }
}

echo "check-image: building into $work/root (the Dockerfile's build stage)"
"$PYTHON" -m venv "$work/builder"
PATH="$work/builder/bin:$PATH" "$work/builder/bin/python" deploy/image/rehearse.py build "$work/root"

# The final stage's environment, working directory and command.
mapfile -t image_env < <("$PYTHON" deploy/image/rehearse.py env "$work/root")
workdir="$("$PYTHON" deploy/image/rehearse.py workdir "$work/root")"
read -r -a command <<<"$("$PYTHON" deploy/image/rehearse.py command "$work/root")"
mkdir -p "$workdir"
# in_image COMMAND...: exec COMMAND as the container would; call it in a subshell or with &.
in_image() { cd "$workdir" && exec env -i "${image_env[@]}" AWS_EC2_METADATA_DISABLED=true "$@"; }
venv="$work/root/opt/scanner"

if (in_image python -c 'import pip') 2>/dev/null; then fail "pip is installed in the image's environment"; fi
[ "${command[0]} ${command[1]}" = "scanner serve" ] || fail "the entrypoint is '${command[*]}', not 'scanner serve'"

# 1. The entrypoint itself, with the CMD's listen address moved to a free local port.
touch "$work/marker"
port="$(free_port)"
in_image "${command[@]:0:2}" --listen "127.0.0.1:$port" >"$work/daemon.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/healthz" 60 "$!"
stop "$!"
[ -f "$workdir/scanner-state.db" ] || fail "scanner serve kept no state in $workdir"
written="$(find "$work/root" -newer "$work/marker" -not -path "$workdir" -not -path "$workdir/*")"
[ -z "$written" ] || fail "scanner serve wrote outside its state directory: $written"
echo "check-image: 'scanner serve' answered /healthz and wrote only $workdir"

# 2. The demo organization, with the demo extra pinned by the image's requirements.
demo="$("$PYTHON" -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["demo"]))')"
read -r -a demo_requirements <<<"$demo"
"$work/builder/bin/python" -m pip --python "$venv/bin/python" install --quiet --no-cache-dir \
  --constraint deploy/image/requirements.txt "${demo_requirements[@]}"
touch "$work/marker"
port="$(free_port)"
in_image scanner demo --serve --listen "127.0.0.1:$port" >"$work/daemon.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port/readyz" 180 "$!"
metrics="$(curl -fsS "http://127.0.0.1:$port/metrics")"
grep -q '^scanner_account_controls{' <<<"$metrics" || fail "/metrics has no scanner_account_controls after the demo scan"
stop "$!"
written="$(find "$venv" -newer "$work/marker")"
[ -z "$written" ] || fail "the daemon wrote into the installed environment: $written"
echo "check-image: 'scanner demo --serve' answered /readyz with the control status in /metrics"
