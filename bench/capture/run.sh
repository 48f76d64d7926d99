#!/usr/bin/env bash
# CPU the collector spends per lifecycle record during a storm: the
# ebpfprocess receiver (logs only) into the debug exporter (one line per
# batch), while SPAWNERS shell loops run SPAWNEE PROCS times in all
# (STORM=processes, the default; SPAWNEE is by default a static program that
# only exits, see bench/lib/exit0.sh), or while python3 starts and joins
# threads for THREAD_SECONDS with include_threads on (STORM=threads: each
# thread is a fork and an exit record through the same programs, reader
# and conversion, at a rate process spawning cannot reach on a small
# machine, so per-batch costs weigh less on each record).
#
#   sudo bench/capture/run.sh [BIN]       (default: bin/otelcol-linnix)
#   sudo STORM=threads bench/capture/run.sh
#
# It reports the records delivered (the exporter's own
# otelcol_exporter_sent_log_records: every process on the host counts, not
# only the storm's), the collector's CPU time over the
# storm and until the last record was delivered (its threads' run time, to
# the nanosecond: bench/lib/cpu.sh), the CPU time per record, the spawn rate, and the
# receiver's lost-event counters. The host's own processes keep the
# collector busy too, so it first measures IDLE seconds without the storm and
# also reports the storm's marginal CPU per record: the storm window's CPU
# and records less the idle rates over as long. Environment: STORM
# (processes), SPAWNEE, PROCS (5000), SPAWNERS (4), THREAD_SECONDS (10),
# THREAD_RATE (threads a second; 0, the default, as fast as they go),
# IDLE (10), PORT (18899, the collector's telemetry, loopback only).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-bin/otelcol-linnix}
PROCS=${PROCS:-5000}
SPAWNERS=${SPAWNERS:-4}
PORT=${PORT:-18899}
IDLE=${IDLE:-10}
STORM=${STORM:-processes}
THREAD_SECONDS=${THREAD_SECONDS:-10}
THREAD_RATE=${THREAD_RATE:-0}
case $STORM in
processes) THREADS=false ;;
threads) THREADS=true ;;
*) echo "STORM must be processes or threads" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || make build >/dev/null
work=$(mktemp -d)
source bench/lib/exit0.sh
source bench/lib/cpu.sh
SPAWNEE=${SPAWNEE:-$(exit0_program "$work")}
collector=""
cleanup() {
	[ -n "$collector" ] && kill "$collector" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/config.yaml" <<YAML
receivers:
  ebpfprocess:
    include_threads: $THREADS
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    logs: {level: warn}
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: $PORT
  pipelines:
    logs:
      receivers: [ebpfprocess]
      exporters: [debug]
YAML

scrape() { curl -fsS "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true; }
accepted() {
	scrape | awk '/^otelcol_exporter_sent_log_records(_total)?\{/ && /exporter="debug"/ { n += $NF } END { printf "%d\n", n }'
}
lost() {
	scrape | awk '/^otelcol_linnix_receiver_events_lost(_total)?\{/ {
		match($0, /reason="[^"]*"/); r = substr($0, RSTART + 8, RLENGTH - 9); n[r] += $NF }
		END { for (r in n) printf "%s=%d ", r, n[r]; print "" }'
}

"$BIN" --config "$work/config.yaml" >"$work/out.log" 2>&1 &
collector=$!
for _ in $(seq 100); do
	[ -n "$(scrape)" ] && break
	kill -0 "$collector" 2>/dev/null || { cat "$work/out.log" >&2; exit 1; }
	sleep 0.1
done
sleep 5 # the start-up snapshot and the first records settle

i0=$(accepted)
task_cpu "$collector" >"$work/cpu-idle"
sleep "$IDLE"
a0=$(accepted)
task_cpu "$collector" >"$work/cpu-storm"
s0=$(date +%s.%N)
if [ "$STORM" = processes ]; then
	per=$((PROCS / SPAWNERS))
	for _ in $(seq "$SPAWNERS"); do
		(for _ in $(seq "$per"); do "$SPAWNEE"; done) &
	done
	wait $(jobs -p | grep -v "^$collector$") 2>/dev/null || true
	spawned=$((per * SPAWNERS))
else
	spawned=$(python3 -c '
import sys, threading, time
rate = float(sys.argv[2])
# Paced, threads go in tens and wait for their time; unpaced, in fifties.
group = 10 if rate else 50
n, t0 = 0, time.monotonic()
end = t0 + float(sys.argv[1])
while time.monotonic() < end:
    ts = [threading.Thread(target=int) for _ in range(group)]
    for t in ts: t.start()
    for t in ts: t.join()
    n += len(ts)
    if rate and t0 + n / rate > time.monotonic():
        time.sleep(t0 + n / rate - time.monotonic())
print(n)' "$THREAD_SECONDS" "$THREAD_RATE")
fi
s1=$(date +%s.%N)
# Delivered when the count stops moving for a second (or after 60 s).
prev=-1
for _ in $(seq 60); do
	cur=$(accepted)
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 1
done
task_cpu "$collector" >"$work/cpu-end"
a1=$(accepted)
e1=$(date +%s.%N)
records=$((a1 - a0))
awk -v n="$records" -v ns="$(cpu_ns_between "$work/cpu-storm" "$work/cpu-end")" -v s0="$s0" -v s1="$s1" -v e1="$e1" -v p="$spawned" -v bin="$BIN" -v storm="$STORM" -v spawnee="$(basename "$SPAWNEE")" \
	-v idle="$IDLE" -v ir="$((a0 - i0))" -v ic="$(cpu_ns_between "$work/cpu-idle" "$work/cpu-storm")" 'BEGIN {
	cpu = ns / 1e9
	ic /= 1e9
	per = 0
	if (n) per = cpu * 1e6 / n
	printf "%s: %d %s in %.1f s (%.0f/s), %d records delivered, collector CPU %.0f ms, %.2f us/record\n",
		bin, p, (storm == "processes" ? spawnee : storm), s1 - s0, p / (s1 - s0), n, cpu * 1000, per
	# The idle window gives the background rates of records and CPU.
	w = e1 - s0
	mn = n - ir / idle * w
	mc = cpu - ic / idle * w
	mper = 0
	if (mn > 0) mper = mc * 1e6 / mn
	printf "idle %d s: %d records, CPU %.0f ms; storm marginal: %d records, CPU %.0f ms, %.2f us/record\n",
		idle, ir, ic * 1000, mn, mc * 1000, mper
}'
echo "lost: $(lost)"
