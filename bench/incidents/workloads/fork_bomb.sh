#!/bin/bash
# Fault: a fork bomb confined by a pids cgroup (pids.max 200), killed after
# DUR seconds and its cgroup removed. v1 pids hierarchy where the host has
# one, else the v2 unified hierarchy.
set -u
name=linnix-corpus-bomb-$$
if [ -d /sys/fs/cgroup/pids ]; then cg=/sys/fs/cgroup/pids/$name; else cg=/sys/fs/cgroup/$name; fi
mkdir "$cg" || exit 1
echo "${PIDS_MAX:-200}" > "$cg/pids.max"
echo "$cg" > "${CGROUP_FILE:-/dev/null}"
cleanup() {
	echo 1 > "$cg/pids.max" 2>/dev/null
	for _ in $(seq 1 200); do
		pids=$(cat "$cg/cgroup.procs" 2>/dev/null)
		[ -z "$pids" ] && break
		kill -9 $pids 2>/dev/null
		sleep 0.05
	done
	rmdir "$cg"
}
trap cleanup EXIT
bash -c 'echo $$ > '"$cg"'/cgroup.procs; exec bash -c "bomb(){ bomb|bomb& }; bomb"' 2>/dev/null &
sleep "${DUR:-25}"
