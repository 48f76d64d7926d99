#!/usr/bin/env bash
# What one wakeup costs on this host, whatever is woken: the CPU time a
# thread that does nothing but sleep INTERVAL and wake again spends per
# wakeup, in C (the floor: one thread, one nanosleep) and in Go (a ticker,
# as the receiver's drain timer is: the runtime wakes more than one thread),
# the latter with GOMAXPROCS=1 and with this host's default.
#
#   bench/wakeup-cost.sh          (no root needed)
#
# Why it is here: at the spawn rates a small machine reaches (a few hundred
# a second, ~1,000 records), the collector's CPU per lifecycle record in
# bench/capture is mostly the cost of waking up every batch_interval, not
# the records (docs/performance.md, "Capture cost and latency"). This
# measures that cost on the host at hand, so that the capture figures can be
# read against it. Environment: INTERVAL_MS (20, the default
# batch_interval), SECONDS_EACH (10).
set -euo pipefail
INTERVAL_MS=${INTERVAL_MS:-20}
SECONDS_EACH=${SECONDS_EACH:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! [ "$INTERVAL_MS" -gt 0 ] 2>/dev/null || ! [ "$SECONDS_EACH" -gt 0 ] 2>/dev/null; then
	echo "INTERVAL_MS and SECONDS_EACH must be positive integers" >&2
	exit 2
fi
n=$((SECONDS_EACH * 1000 / INTERVAL_MS))
if [ "$n" -lt 1 ]; then
	echo "SECONDS_EACH=$SECONDS_EACH holds no wakeup of INTERVAL_MS=$INTERVAL_MS" >&2
	exit 2
fi

cat >"$work/sleep.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
static double cpu_us(void) {
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}
int main(int argc, char **argv) {
	long ms = atol(argv[1]), n = atol(argv[2]);
	struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
	/* Counted from the first wakeup: start-up is not a wakeup. */
	nanosleep(&d, 0);
	double t0 = cpu_us();
	for (long i = 0; i < n; i++)
		nanosleep(&d, 0);
	printf("%.1f\n", (cpu_us() - t0) / n);
	return 0;
}
C

mkdir "$work/tick"
cat >"$work/tick/go.mod" <<'MOD'
module tick

go 1.22
MOD
cat >"$work/tick/main.go" <<'GO'
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func cpu() int64 {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return r.Utime.Nano() + r.Stime.Nano()
}

// Prints GOMAXPROCS and the CPU per wakeup, counted from the first one:
// start-up is not a wakeup.
func main() {
	ms, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	t := time.NewTicker(time.Duration(ms) * time.Millisecond)
	<-t.C
	t0 := cpu()
	for range n {
		<-t.C
	}
	fmt.Printf("%d %.1f\n", runtime.GOMAXPROCS(0), float64(cpu()-t0)/1e3/float64(n))
}
GO

echo "| sleeper (${INTERVAL_MS} ms, ${n} wakeups) | µs CPU per wakeup |"
echo "| --- | --- |"
if "${CC:-cc}" -O2 -o "$work/sleep" "$work/sleep.c" 2>/dev/null; then
	echo "| C, nanosleep | $("$work/sleep" "$INTERVAL_MS" "$n") |"
else
	echo "| C, nanosleep | no C compiler |"
fi
(cd "$work/tick" && GOWORK=off go build -o ../tickbin .)
for procs in 1 ""; do
	read -r p us < <(GOMAXPROCS=$procs "$work/tickbin" "$INTERVAL_MS" "$n")
	echo "| Go ticker, GOMAXPROCS=$p | $us |"
done
