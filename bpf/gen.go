// Package bpf is the kernel side of otelcol-linnix: the CO-RE eBPF programs,
// their bpf2go bindings, a loader and a typed decoder for the records they
// write. Everything above this package speaks Go types, not bytes.
package bpf

//go:generate go tool -modfile=../internal/tools/go.mod bpf2go -cc clang -strip llvm-strip -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type event_type -type event_flag -type task_flag process process.bpf.c -- -I./headers
