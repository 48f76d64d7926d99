# Sourced by the bench scripts: a process's CPU time to the nanosecond.
#
# /proc/PID/stat counts CPU in 10 ms ticks: over a 10 s idle window of a
# collector spending 1-3 ms a second that is an error as large as the figure.
# Each thread's schedstat gives its run time in nanoseconds instead.

# task_cpu PID: "tid nanoseconds" for each of its threads, the time each has
# run so far.
task_cpu() {
	local f t ns
	for f in /proc/"$1"/task/*/schedstat; do
		t=${f%/schedstat}
		read -r ns _ <"$f" 2>/dev/null && echo "${t##*/} $ns"
	done
}

# cpu_ns_between FILE0 FILE1: the nanoseconds the process's threads ran
# between two task_cpu samples. A thread born in between counts whole; one
# that exited in between loses its share (the Go runtime keeps its threads).
cpu_ns_between() {
	awk 'NR == FNR { at0[$1] = $2; next } { d += $2 - at0[$1] } END { printf "%.0f", d }' "$1" "$2"
}
