#!/usr/bin/env bash
# Soak: the built collector with examples/default.yaml (ebpfprocess ->
# memory_limiter -> incident -> batch -> insights API, file, prometheus; its
# ports moved to free ones, pprof added) under a steady spawn load, sampled
# every minute into a CSV, then watched while the load is gone to show that
# every series returns to its baseline.
#
#   sudo bench/soak/run.sh                 (30 min at 300 spawns/s, 1,000 long-lived)
#   sudo DURATION=120 bench/soak/run.sh    (a short run)
#
# Environment: DURATION (load seconds, 1800), RATE (spawns/s, 300),
# LONG_LIVED (sleepers kept alive, 1000), CHURN (share of the sleepers
# replaced each minute, in percent, 10), SPAWNEE (the short-lived program:
# by default a static one that only exits, see bench/lib/exit0.sh), COOLDOWN (seconds sampled after the
# load, 120), SAMPLE (seconds between samples, 60), SETTLE (seconds idle
# before the baseline sample, 60), BIN, OUT (the CSV,
# default bench/soak/soak-<date>.csv), HEAP_PROFILES (a folder: the Go heap
# profile and /proc/PID/smaps at the end of the load and at the end of the
# cool-down are saved there, for `go tool pprof`, and RSS is split into the
# binary's pages, the ring buffer and the rest: what holds memory that did
# not return).
#
# It holds the host-wide kernel-test lock for the whole run: hundreds of
# spawns a second would be taken for a fork storm by other kernel tests.
set -euo pipefail
# One compound command, parsed whole before it runs: editing this file
# during a 30-minute run cannot change the run.
{
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-1800}
RATE=${RATE:-300}
LONG_LIVED=${LONG_LIVED:-1000}
CHURN=${CHURN:-10}
COOLDOWN=${COOLDOWN:-120}
SETTLE=${SETTLE:-60}
SAMPLE=${SAMPLE:-60}
BIN=${BIN:-bin/otelcol-linnix}
OUT=${OUT:-bench/soak/soak-$(date -u +%Y%m%dT%H%M%SZ).csv}
[ -x "$BIN" ] || { echo "build $BIN first (make build)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root: the receiver loads BPF" >&2; exit 1; }

exec 9>/tmp/otelcol-linnix-kernel-tests.lock
echo "waiting for the kernel-test lock..." >&2
flock 9

work=$(mktemp -d)
# The short-lived program (see bench/lib/exit0.sh; SPAWNEE to choose one).
source bench/lib/exit0.sh
SPAWNEE=${SPAWNEE:-$(exit0_program "$work")}
collector=""
loader=""
cleanup() {
	[ -n "$loader" ] && kill "$loader" 2>/dev/null || true
	[ -n "$collector" ] && kill "$collector" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PROM=$(free_port)
TEL=$(free_port)
PPROF=$(free_port)
API=$(free_port)
HEALTH=$(free_port)

# examples/default.yaml itself, with its ports moved to free ones, its event
# file in the work folder and the pprof extension added; a default that no
# longer has what is replaced fails here rather than soaking something else.
sed -e "s/127.0.0.1:7070/127.0.0.1:$API/; s/127.0.0.1:9464/127.0.0.1:$PROM/; s/127.0.0.1:13133/127.0.0.1:$HEALTH/" \
	-e "s#http://127.0.0.1:8888/metrics#http://127.0.0.1:$TEL/metrics#; s/port: 8888/port: $TEL/" \
	-e "s#\${env:HOME}/.local/state/otelcol-linnix/events.jsonl#$work/events.jsonl#" \
	-e "s/^extensions:\$/extensions:\n  pprof:\n    endpoint: 127.0.0.1:$PPROF/" \
	-e "s/extensions: \[health_check\]/extensions: [health_check, pprof]/" \
	examples/default.yaml >"$work/config.yaml"
for want in "127.0.0.1:$API" "127.0.0.1:$PROM" "127.0.0.1:$HEALTH" "port: $TEL" "$work/events.jsonl" "[health_check, pprof]" "127.0.0.1:$PPROF"; do
	grep -qF -- "$want" "$work/config.yaml" || { echo "examples/default.yaml changed: could not set $want" >&2; exit 1; }
done
! grep -v '^ *#' "$work/config.yaml" | grep -qE '(:|port: )(7070|9464|13133|8888)$|env:HOME' || { echo "examples/default.yaml changed: a default port or path is left" >&2; exit 1; }

"$BIN" --config "$work/config.yaml" >"$work/collector.log" 2>&1 9>&- &
collector=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$TEL/metrics" >/dev/null && break
	kill -0 "$collector" 2>/dev/null || { cat "$work/collector.log" >&2; exit 1; }
	sleep 0.2
done

# sum METRIC_REGEX: the sum of every series of the collector's own metrics
# whose name matches.
sum_of() { awk -v re="$1" '$1 !~ /^#/ { n=$1; sub(/\{.*/, "", n); if (n ~ re) s += $NF } END { printf "%.0f", s }' "$work/tel.txt"; }
header="elapsed_s,phase,rss_kb,heap_alloc_bytes,goroutines,processes_tracked,incident_states,events_total,lost_ring_full,lost_kernel_recursion,lost_read_error,lost_decode_error,lost_queue_full,lost_downstream_refused,exporter_send_failed,processor_refused,host_processes"
echo "$header" >"$OUT"
sample() { # phase
	curl -sf "http://127.0.0.1:$TEL/metrics" >"$work/tel.txt" || : >"$work/tel.txt"
	local rss gor lost r
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$collector/status")
	gor=$(curl -sf "http://127.0.0.1:$PPROF/debug/pprof/goroutine?debug=1" | awk 'NR==1 {print $NF}')
	lost=""
	for r in ring_full kernel_recursion read_error decode_error queue_full downstream_refused; do
		lost+=",$(awk -v r="$r" '$1 ~ /^otelcol_linnix_receiver_events_lost/ && $1 ~ "reason=\"" r "\"" { s += $NF } END { printf "%.0f", s }' "$work/tel.txt")"
	done
	echo "$(($(date +%s) - start)),$1,$rss,$(sum_of '^otelcol_process_runtime_heap_alloc_bytes$'),$gor,$(sum_of '^otelcol_linnix_receiver_processes_tracked$'),$(sum_of '^otelcol_linnix_incidents_tracked$'),$(sum_of '^otelcol_linnix_receiver_events(_total)?$')$lost,$(sum_of '^otelcol_exporter_send_failed_.*'),$(sum_of '^otelcol_processor_.*refused.*'),$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)" >>"$OUT"
	tail -n1 "$OUT" >&2
}

echo "$header" >&2
# The baseline is the idle collector's: start-up is over (the binary's
# start-up pages go 30 s in) and the process table has its first snapshot.
sleep "$SETTLE"
start=$(date +%s)
sample baseline

# The load, one Python process: LONG_LIVED sleepers, CHURN% of them
# replaced every minute so that pids are reused, and RATE short-lived
# SPAWNEE a second, paced in 10 ms steps and reaped as they exit. A spawner
# that falls behind (a busy machine) does not catch up in a burst, and never
# has more than RATE children running: spawns it could not make are counted,
# not retried. Stopped, it kills its sleepers and writes what it did, so the
# rate achieved is known.
python3 - "$RATE" "$LONG_LIVED" "$CHURN" "$work/spawned" "$SPAWNEE" 9>&- <<'PY' &
import os, signal, sys, time
rate, long_lived, churn, out, spawnee = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
sleep = ["sleep", "100000"]
sleepers = [os.posix_spawn("/bin/sleep", sleep, {}) for _ in range(long_lived)]
live = set(sleepers)
n = skipped = failed = replaced = 0
t0 = time.monotonic()
def stop(*_):
    for p in sleepers:
        os.kill(p, signal.SIGKILL)
    with open(out, "w") as f:
        f.write(f"{n} {time.monotonic() - t0:.1f} {replaced} {skipped} {failed}\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
def reap():
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            live.discard(pid)
    except ChildProcessError:
        pass
next_churn, done = t0 + 60, 0
while True:
    now = time.monotonic()
    if now >= next_churn:
        next_churn += 60
        k = len(sleepers) * churn // 100
        for p in sleepers[:k]:
            os.kill(p, signal.SIGKILL)
        fresh = [os.posix_spawn("/bin/sleep", sleep, {}) for _ in range(k)]
        sleepers = sleepers[k:] + fresh
        live.update(fresh)
        replaced += k
    due = int((now - t0) * rate)
    if due - done > rate / 10:  # behind by more than 100 ms: let it go
        skipped += due - done - int(rate / 10)
        done = due - int(rate / 10)
    while done < due:
        done += 1
        if len(live) - len(sleepers) >= rate:
            skipped += 1
            continue
        try:
            live.add(os.posix_spawn(spawnee, [os.path.basename(spawnee)], {}))
            n += 1
        except OSError:
            failed += 1
    reap()
    time.sleep(0.01)
PY
loader=$!
echo "spawning $SPAWNEE, $RATE a second" >&2

end=$((start + DURATION))
next=$((start + SAMPLE))
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 1
	kill -0 "$loader" 2>/dev/null || { echo "the load generator died" >&2; exit 1; }
	if [ "$(date +%s)" -ge "$next" ]; then
		next=$((next + SAMPLE))
		sample load
	fi
done
kill "$loader" 2>/dev/null || true
wait "$loader" 2>/dev/null || true
loader=""
heap_profile() { # name [gc]
	[ -n "${HEAP_PROFILES:-}" ] || return 0
	mkdir -p "$HEAP_PROFILES"
	# gc=1: what is live now, not at the last collection. Only at the end:
	# a collection forced as the load stops would change the cool-down
	# that is measured (under load the runtime collects often anyway).
	curl -sf "http://127.0.0.1:$PPROF/debug/pprof/heap${2:+?gc=1}" >"$HEAP_PROFILES/heap-$1.pb.gz" || true
	cp "/proc/$collector/smaps" "$HEAP_PROFILES/smaps-$1.txt" 2>/dev/null || true
	awk -v bin="$(readlink -f "/proc/$collector/exe")" -v at="$1" '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 }
		/^Rss:/ { if (name == bin) b += $2; else if (name ~ /bpf-map/) r += $2; else o += $2 }
		END { printf "RSS at the %s: the binary'"'"'s pages %d kB, the ring buffer %d kB, the rest (heap, stacks) %d kB\n", at, b, r, o }' \
		"$HEAP_PROFILES/smaps-$1.txt" >&2 || true
}
heap_profile end-of-load
read -r spawned secs replaced skipped failed <"$work/spawned"
echo "spawned $spawned short-lived processes in ${secs}s ($(awk -v n="$spawned" -v s="$secs" 'BEGIN { printf "%.0f", n/s }')/s; $skipped not spawned because the machine fell behind, $failed failed), replaced $replaced sleepers" >&2

cool_end=$(($(date +%s) + COOLDOWN))
while [ "$(date +%s)" -lt "$cool_end" ]; do
	sleep $((SAMPLE < COOLDOWN ? SAMPLE / 2 : COOLDOWN / 2))
	sample cooldown
done
heap_profile end-of-cooldown gc
kill -0 "$collector" || { echo "the collector died:" >&2; cat "$work/collector.log" >&2; exit 1; }
grep -iE 'error|panic' "$work/collector.log" >&2 || true
echo "wrote $OUT" >&2
bench/soak/summarize.sh "$OUT"
exit 0
}
