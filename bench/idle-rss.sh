#!/usr/bin/env bash
# Idle memory of the collector: runs the built binary with the default
# pipeline (examples/default.yaml, its ports moved to free ones, pprof added)
# for DURATION seconds on a quiet host and prints what its memory is made of.
#
#   sudo bench/idle-rss.sh                                  (60 s)
#   sudo GOMEMLIMIT=40MiB bench/idle-rss.sh                 (a soft heap limit)
#   sudo bench/idle-rss.sh --config 'yaml:receivers::ebpfprocess::ring_buffer_size: 2MiB'
#
# The host's own activity shows in the result (the receiver's records, the
# process table), so the host's process count and the records read during
# the run are printed with it: "idle" means few of those.
#
# The collector releases its start-up pages 30 s in
# (cmd/otelcol-linnix/main_pages_linux.go): a shorter DURATION shows them.
#
# Extra arguments are passed to the collector after the config. Environment:
# DURATION (60), BIN, CONFIG (examples/default.yaml), GOMEMLIMIT, GOGC,
# HEAP_PROFILE (a file to save the heap profile in, for go tool pprof),
# SMAPS (a file to save /proc/PID/smaps in).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-60}
BIN=${BIN:-bin/otelcol-linnix}
CONFIG=${CONFIG:-examples/default.yaml}
[ -x "$BIN" ] || { echo "build $BIN first (make build)" >&2; exit 1; }
work=$(mktemp -d)
collector=""
cleanup() {
	[ -n "$collector" ] && kill "$collector" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HEALTH=$(free_port) PROM=$(free_port) TEL=$(free_port) PPROF=$(free_port) INSIGHTS=$(free_port)

"$BIN" --config "$CONFIG" \
	--config "yaml:extensions::health_check::endpoint: 127.0.0.1:$HEALTH" \
	--config "yaml:extensions::pprof::endpoint: 127.0.0.1:$PPROF" \
	--config "yaml:service::extensions: [health_check, pprof]" \
	--config "yaml:exporters::file::path: $work/events.jsonl" \
	--config "yaml:exporters::prometheus::endpoint: 127.0.0.1:$PROM" \
	--config "yaml:exporters::linnix_insights::endpoint: 127.0.0.1:$INSIGHTS" \
	--config "yaml:exporters::linnix_insights::self_metrics_endpoint: http://127.0.0.1:$TEL/metrics" \
	--config "yaml:service::telemetry::metrics::readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1, port: $TEL}}}}]" \
	"$@" >"$work/collector.log" 2>&1 &
collector=$!
sleep "$DURATION"
kill -0 "$collector" 2>/dev/null || { cat "$work/collector.log" >&2; exit 1; }
[ -z "${HEAP_PROFILE:-}" ] || curl -sf -o "$HEAP_PROFILE" "http://127.0.0.1:$PPROF/debug/pprof/heap"
[ -z "${SMAPS:-}" ] || cp "/proc/$collector/smaps" "$SMAPS"

kb() { awk -v k="$1:" '$1 == k { print $2 }' "$2"; }
mib() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }
status=/proc/$collector/status rollup=/proc/$collector/smaps_rollup
tel=$(curl -sf "http://127.0.0.1:$TEL/metrics" || true)
telemetry() { awk -v n="$1" '$1 == n { printf "%.1f", $2 / 1048576 }' <<<"$tel"; }
# Mappings of BPF maps (anon_inode:bpf-map): the ring buffer, mapped twice.
ring=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 } /^Rss:/ && name ~ /bpf-map/ { s += $2 } END { print s + 0 }' "/proc/$collector/smaps")
# The binary's own mappings by permission: code (r-xp), read-only data and
# the runtime's symbol table (r--p), writable data (rw-p).
binary() { awk -v bin="$(readlink -f "/proc/$collector/exe")" -v perms="$1" '/^[0-9a-f]+-[0-9a-f]+ / { name = $6; p = $2 } /^Rss:/ && name == bin && (perms == "" || p == perms) { s += $2 } END { print s + 0 }' "/proc/$collector/smaps"; }
text=$(binary "") code=$(binary r-xp) rodata=$(binary r--p) data=$(binary rw-p)
events=$(awk '$1 ~ /^otelcol_linnix_receiver_events[{]/ { s += $2; n++ } END { print n ? s : "?" }' <<<"$tel")
echo "after ${DURATION}s idle (GOMEMLIMIT=${GOMEMLIMIT:-unset} GOGC=${GOGC:-unset} $*):"
echo "  host: $(ls /proc | grep -c '^[0-9]') processes, load $(cut -d' ' -f1-3 /proc/loadavg); the receiver read $events fork/exec/exit records"
echo "  VmRSS $(mib "$(kb VmRSS "$status")") MiB (VmHWM $(mib "$(kb VmHWM "$status")")): anon $(mib "$(kb RssAnon "$status")"), file $(mib "$(kb RssFile "$status")"), shmem $(mib "$(kb RssShmem "$status")")"
echo "  of which the binary's own pages $(mib "$text") MiB (code $(mib "$code"), read-only data $(mib "$rodata"), data $(mib "$data")), BPF maps (the ring buffer) $(mib "$ring") MiB"
echo "  Pss $(mib "$(kb Pss "$rollup")") MiB"
echo "  Go heap in use $(telemetry otelcol_process_runtime_heap_alloc_bytes) MiB, runtime total from the OS $(telemetry otelcol_process_runtime_total_sys_memory_bytes) MiB"
