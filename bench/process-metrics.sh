#!/usr/bin/env bash
# Side-by-side CPU and memory cost of per-process metrics: the ebpfprocess
# receiver's kernel-sampled path against the contrib hostmetrics `process`
# scraper, same interval, same metric set, same machine, same run.
#
#   sudo bench/process-metrics.sh [COUNTS...]      (default: 100 1000 5000)
#
# For each process count it spawns idle sleepers until the host has that
# many processes, then runs the collector with each config for DURATION
# seconds after a warm-up, and reports the collector's CPU time per
# collection (the run time of its threads to the nanosecond, see
# bench/lib/cpu.sh, divided by the collections made) and its peak RSS. Environment: DURATION
# (30), INTERVAL (1s), BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=("${@:-100 1000 5000}")
read -ra COUNTS <<<"${COUNTS[*]}"
DURATION=${DURATION:-30}
INTERVAL=${INTERVAL:-1s}
WARMUP=5
BIN=${BIN:-bin/otelcol-linnix}
[ -x "$BIN" ] || make build >/dev/null
work=$(mktemp -d)
sleepers=()
collector=""
cleanup() {
	[ -n "$collector" ] && kill "$collector" 2>/dev/null || true
	[ ${#sleepers[@]} -gt 0 ] && kill "${sleepers[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

common_tail() {
	cat <<YAML
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    logs: {level: warn}
    metrics: {level: none}
YAML
}

# ebpf_config [RECEIVER_OPTION]: the ebpfprocess config, every process
# (top_n: 0) or the default top 50.
ebpf_config() {
  cat <<YAML
receivers:
  ebpfprocess:
    collection_interval: $INTERVAL
${1:-}
$(common_tail)
  pipelines:
    metrics:
      receivers: [ebpfprocess]
      exporters: [debug]
YAML
}
ebpf_config "    top_n: 0" >"$work/ebpf.yaml"
ebpf_config >"$work/ebpf-top50.yaml"

# The same metrics as ebpfprocess emits; disk I/O (not ours) off.
cat >"$work/hostmetrics.yaml" <<YAML
receivers:
  host_metrics:
    collection_interval: $INTERVAL
    scrapers:
      process:
        mute_process_name_error: true
        mute_process_exe_error: true
        mute_process_io_error: true
        mute_process_user_error: true
        mute_process_cgroup_error: true
        metrics:
          process.cpu.utilization: {enabled: true}
          process.threads: {enabled: true}
          process.paging.faults: {enabled: true}
          process.context_switches: {enabled: true}
          process.uptime: {enabled: true}
          process.disk.io: {enabled: false}
$(common_tail)
  pipelines:
    metrics:
      receivers: [host_metrics]
      exporters: [debug]
YAML

source bench/lib/cpu.sh
nprocs() { ls -d /proc/[0-9]* 2>/dev/null | wc -l; }
measure() { # config → "cpu_ms_per_collection peak_rss_mb"
	local cfg=$1
	"$BIN" --config "$cfg" >"$work/out.log" 2>&1 &
	collector=$!
	sleep "$WARMUP"
	kill -0 "$collector" || { cat "$work/out.log" >&2; exit 1; }
	task_cpu "$collector" >"$work/cpu0"
	sleep "$DURATION"
	task_cpu "$collector" >"$work/cpu1"
	local ns
	ns=$(cpu_ns_between "$work/cpu0" "$work/cpu1")
	local hwm
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$collector/status")
	kill "$collector"
	wait "$collector" 2>/dev/null || true
	collector=""
	local interval_s
	interval_s=$(awk -v i="$INTERVAL" 'BEGIN { if (i ~ /ms$/) print substr(i,1,length(i)-2)/1000; else print substr(i,1,length(i)-1) }')
	awk -v ns="$ns" -v d="$DURATION" -v i="$interval_s" -v hwm="$hwm" \
		'BEGIN { printf "%.2f %.0f\n", ns/1e6/(d/i), hwm/1024 }'
}

echo "| processes | ebpfprocess, every process (ms CPU/collection) | ebpfprocess, top_n 50 | hostmetrics process scraper | ratio (every process) | RSS MB ebpfprocess / hostmetrics |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in "${COUNTS[@]}"; do
	# The deficit is spawned in one go: counting /proc after every sleeper
	# took minutes at 5,000 and kept the host busy while it did.
	while [ "$(nprocs)" -lt "$n" ]; do
		for _ in $(seq $((n - $(nprocs)))); do
			sleep 3600 &
			sleepers+=($!)
		done
	done
	read -r e_cpu e_rss < <(measure "$work/ebpf.yaml")
	read -r t_cpu _ < <(measure "$work/ebpf-top50.yaml")
	read -r h_cpu h_rss < <(measure "$work/hostmetrics.yaml")
	ratio=$(awk -v h="$h_cpu" -v e="$e_cpu" 'BEGIN { if (e > 0) printf "%.0f×", h/e; else print "n/a" }')
	echo "| $(nprocs) | $e_cpu | $t_cpu | $h_cpu | $ratio | $e_rss / $h_rss |"
done
