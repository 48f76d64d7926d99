#!/usr/bin/env bash
# check.sh — self-check: make the tiny model in a temp dir, start server.mjs on
# a free loopback port, run check.mjs against it, stop the server, clean up.
#   ./check.sh [runs]        (needs `npm ci --omit=optional` done in this dir)
set -euo pipefail
cd "$(dirname "$0")"
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true

if [ ! -d node_modules/node-llama-cpp ]; then
  echo "node_modules missing: run 'npm ci --omit=optional' in $(pwd)" >&2
  exit 1
fi

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

node make-model.mjs "$tmp/linnix-tiny.gguf"
ls -l "$tmp/linnix-tiny.gguf" | awk '{print "model size: " $5 " bytes"}'

t0=$(date +%s%N)
# PORT=0: the kernel picks a free port; the server prints it on its "listening on" line.
PORT=0 LLM_MODEL_PATH="$tmp/linnix-tiny.gguf" node server.mjs >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$tmp/server.out")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "server did not start:" >&2
  cat "$tmp/server.out" "$tmp/server.err" >&2
  exit 1
fi
echo "server startup: $(( ($(date +%s%N) - t0) / 1000000 )) ms -> $url"

rc=0
node check.mjs "$url" "${1:-5}" || rc=$?
echo "--- server log ---"
cat "$tmp/server.err"
exit $rc
