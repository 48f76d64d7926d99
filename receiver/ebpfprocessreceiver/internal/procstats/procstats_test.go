package procstats

import (
	"testing"

	"github.com/linnix-os/otelcol-linnix/bpf"
)

func TestAggregateSumsThreadsAndDeadThreads(t *testing.T) {
	tasks := []bpf.TaskSample{
		{PID: 10, TID: 11, RuntimeNs: 100, UtimeNs: 3, StimeNs: 1, MinFlt: 1, Nvcsw: 2, State: 1},
		{PID: 10, TID: 10, PPID: 1, EUID: 1000, RuntimeNs: 200, UtimeNs: 3, StimeNs: 1, MinFlt: 4, MajFlt: 1, Nvcsw: 5, Nivcsw: 6,
			DeadRuntimeNs: 100, DeadUtimeNs: 2, DeadStimeNs: 2, DeadMinFlt: 10, DeadNvcsw: 1,
			RssPages: 3, VMPages: 10, NrThreads: 2, State: 1, Comm: [16]byte{'j', 'a', 'v', 'a'}},
		{PID: 20, TID: 20, State: bpf.TaskRunning, NrThreads: 1, Flags: bpf.PFKthread},
		{PID: 10, TID: 12, RuntimeNs: 0, State: bpf.TaskRunning},
	}
	var a Aggregator
	got := a.Aggregate(tasks, 4096, nil)
	if len(got) != 2 {
		t.Fatalf("got %d processes", len(got))
	}
	p := got[0]
	if p.PID != 10 || p.PPID != 1 || p.EUID != 1000 || p.Comm != "java" || p.Threads != 2 {
		t.Errorf("identity: %+v", p)
	}
	if p.CPUTotal != 400 || p.CPUUser+p.CPUSystem != 400 || p.CPUUser != 267 { // utime 8 : stime 4
		t.Errorf("cpu: total %d user %d system %d", p.CPUTotal, p.CPUUser, p.CPUSystem)
	}
	if p.MinorFaults != 15 || p.MajorFaults != 1 || p.Voluntary != 8 || p.Involuntary != 6 {
		t.Errorf("counters: %+v", p)
	}
	if p.RSSBytes != 3*4096 || p.VirtualBytes != 10*4096 {
		t.Errorf("memory: %+v", p)
	}
	if p.State != Running {
		t.Errorf("a running thread makes the process running, got %s", p.State)
	}
	if !got[1].Kernel || got[1].State != Running {
		t.Errorf("kernel thread: %+v", got[1])
	}
}

func TestStates(t *testing.T) {
	cases := []struct {
		task bpf.TaskSample
		want State
	}{
		{bpf.TaskSample{PID: 1, TID: 1, State: 1, NrThreads: 1}, Sleeping},
		{bpf.TaskSample{PID: 1, TID: 1, State: 2, NrThreads: 1}, Sleeping},
		{bpf.TaskSample{PID: 1, TID: 1, State: bpf.TaskStopped, NrThreads: 1}, Stopped},
		{bpf.TaskSample{PID: 1, TID: 1, State: bpf.TaskTraced, NrThreads: 1}, Stopped},
		{bpf.TaskSample{PID: 1, TID: 1, ExitState: bpf.ExitZombie}, Defunct},
	}
	for _, c := range cases {
		var a Aggregator
		if got := a.Aggregate([]bpf.TaskSample{c.task}, 4096, nil)[0].State; got != c.want {
			t.Errorf("%+v: %s, want %s", c.task, got, c.want)
		}
	}
}

func TestSplit(t *testing.T) {
	if u, s := Split(1000, 0, 0); u != 1000 || s != 0 {
		t.Errorf("no ticks: %d %d", u, s)
	}
	if u, s := Split(1000, 1, 3); u != 250 || s != 750 {
		t.Errorf("1:3: %d %d", u, s)
	}
}
