#!/usr/bin/env bash
# Summarizes a soak CSV (bench/soak/run.sh) as a Markdown table: each
# series at the baseline (before the load), its peak under load, the last
# sample under load, and the last sample after the load stopped.
#
#   bench/soak/summarize.sh bench/soak/soak-30min.csv
set -euo pipefail
awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; n = NF; next }
{
	for (i = 3; i <= n; i++) {
		if ($2 == "baseline") base[i] = $i
		if ($2 == "load") { if (!(i in peak) || $i + 0 > peak[i] + 0) peak[i] = $i; load[i] = $i }
		if ($2 == "cooldown") end[i] = $i
	}
	if ($2 == "load") loadEnd = $1
	if ($2 == "cooldown") coolEnd = $1
}
END {
	printf "| Series | Baseline | Peak under load | End of load (%s s) | %s s after the load |\n", loadEnd, coolEnd - loadEnd
	print "| --- | --- | --- | --- | --- |"
	for (i = 3; i <= n; i++) printf "| %s | %s | %s | %s | %s |\n", name[i], base[i], peak[i], load[i], end[i]
}' "$1"
