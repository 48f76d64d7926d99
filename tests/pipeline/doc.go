// Package pipeline holds the tests that run the real ebpfprocess receiver
// into the real incident processor: BPF programs loaded, real processes
// spawned, incidents read from a sink. They live outside both components,
// which never import each other, and configure them the way users do: from
// YAML through the public factories.
package pipeline
