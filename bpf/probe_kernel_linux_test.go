package bpf

import (
	"os"
	"testing"
)

func TestReadTasksSeesThisProcess(t *testing.T) {
	if _, err := CheckPrerequisites(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("kernel test cannot run in CI: %v", err)
		}
		t.Skipf("needs the privilege to load BPF: %v", err)
	}
	// (kerneltest imports this package, so the check is spelled out here.)
	p, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tasks, err := p.ReadTasks(nil)
	if err != nil {
		t.Fatal(err)
	}
	me := uint32(os.Getpid())
	var leader *TaskSample
	threads := 0
	for i := range tasks {
		if tasks[i].PID == me {
			threads++
			if tasks[i].TID == me {
				leader = &tasks[i]
			}
		}
	}
	if leader == nil {
		t.Fatalf("own process not among %d tasks", len(tasks))
	}
	if leader.RssPages == 0 || leader.VMPages < leader.RssPages || leader.PPID != uint32(os.Getppid()) {
		t.Errorf("leader sample: %+v", *leader)
	}
	// The Go runtime may start a thread mid-iteration: only sanity here,
	// the receiver's accuracy test compares a stable child with /proc.
	if leader.NrThreads == 0 || threads == 0 {
		t.Errorf("nr_threads %d, threads iterated %d", leader.NrThreads, threads)
	}
	if leader.CommString() != "bpf.test" {
		t.Errorf("comm %q", leader.CommString())
	}
}
