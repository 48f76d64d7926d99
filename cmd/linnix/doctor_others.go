//go:build !linux

package main

// The kernel checks read Linux interfaces; elsewhere linnix still reads a
// remote API, a copied file or a config.

func hostChecks() []check {
	return []check{{name: "host", status: statusWarn, detail: "kernel, BPF and capability checks run on Linux only",
		fix: "run linnix doctor on the host that runs the collector"}}
}

func collectorCheck(string) check {
	return check{name: "collector binary", status: statusWarn, detail: "file capabilities are checked on Linux only"}
}
