// Package incidents is the incident corpus: benign and fault workloads
// (workloads/*.sh) run under the real ebpfprocess receiver and incident
// processor with the built-in rules, scored by corpus_linux_test.go.
//
//	bench/incidents/run.sh          # CI-sized corpus, prints the table
//	LINNIX_CORPUS=full bench/incidents/run.sh
package incidents
