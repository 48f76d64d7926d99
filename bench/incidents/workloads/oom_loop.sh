#!/bin/bash
# Fault: a program restarted into a memory cgroup too small for it (64 MiB),
# OOM-killed on each run: three kills, a few seconds apart. v2 memory.max where the
# unified hierarchy has the memory controller, else the v1 memory hierarchy.
set -u
name=linnix-corpus-oom-$$
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	cg=/sys/fs/cgroup/$name limit=memory.max
else
	cg=/sys/fs/cgroup/memory/$name limit=memory.limit_in_bytes
fi
mkdir "$cg" || exit 1
echo $((64 << 20)) > "$cg/$limit"
cleanup() {
	for _ in $(seq 1 100); do
		pids=$(cat "$cg/cgroup.procs" 2>/dev/null)
		[ -z "$pids" ] && break
		kill -9 $pids 2>/dev/null
		sleep 0.05
	done
	rmdir "$cg"
}
trap cleanup EXIT
for _ in 1 2 3; do
	# Each run grows by 1 MiB of touched memory every millisecond or so.
	bash -c 'echo $$ > '"$cg"'/cgroup.procs; exec perl -e '\''my @h; while (1) { push @h, "x" x (1 << 20) }'\'''
	sleep 1
done
sleep "${DUR:-5}"
