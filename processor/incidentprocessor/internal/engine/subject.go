package engine

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/pdatautil"
	"github.com/linnix-os/otelcol-linnix/processor/incidentprocessor/internal/rules"
)

// Subject is what an incident is about.
type Subject struct {
	PID, PPID    int64
	Exe, ExePath string
	Created      string // process.creation.time
	Container    string
	Cgroup       string // process.linux.cgroup
	Host         string
	// CgroupLimit is the process's cgroup memory limit in bytes, from the
	// linnix.cgroup.memory.limit resource attribute; 0 when unlimited or
	// unknown. Only a process subject has one.
	CgroupLimit float64
	// CPULimit is the process's cgroup CPU limit in cores, from the
	// linnix.cgroup.cpu.limit resource attribute; 0 when unlimited.
	CPULimit float64
}

// subjectOf reads a subject from a lifecycle record's attributes or a
// process's resource.
func subjectOf(attrs pcommon.Map, host string) Subject {
	return Subject{
		PID:         pdatautil.Int(attrs, contract.ProcessPID),
		PPID:        pdatautil.Int(attrs, contract.ProcessParentPID),
		Exe:         pdatautil.Str(attrs, contract.ProcessExecutableName),
		ExePath:     pdatautil.Str(attrs, contract.ProcessExecutablePath),
		Created:     pdatautil.Str(attrs, contract.ProcessCreationTime),
		Container:   pdatautil.Str(attrs, contract.ContainerID),
		Cgroup:      pdatautil.Str(attrs, contract.ProcessLinuxCgroup),
		Host:        host,
		CgroupLimit: float64(pdatautil.Int(attrs, contract.CgroupMemoryLimit)),
		CPULimit:    cpuLimit(attrs),
	}
}

func cpuLimit(attrs pcommon.Map) float64 {
	v, _ := pdatautil.Float(attrs, contract.CgroupCPULimit)
	return v
}

// processKey identifies a process across pid reuse by its start time. A
// source without process.creation.time (the hostmetrics process scraper)
// keys by pid alone. Every key but a container's names the host: a gateway
// judges many hosts, whose pids and programs must not add up.
func processKey(s Subject) string {
	return "process/" + s.Host + "/" + strconv.FormatInt(s.PID, 10) + "@" + s.Created
}

// groupKey maps a subject to the key of its group. For a fork record the
// parent is the forking process; its executable is the child's (a forked
// child runs its parent's image).
func groupKey(group rules.GroupBy, s Subject, event string) (string, Subject, bool) {
	switch group {
	case rules.GroupProcess:
		if s.PID == 0 {
			return "", s, false
		}
		return processKey(s), s, true
	case rules.GroupParent:
		if s.PPID == 0 {
			return "", s, false
		}
		parent := Subject{PID: s.PPID, Exe: s.Exe, Container: s.Container, Host: s.Host}
		if event != "fork" {
			parent.Exe = ""
		}
		return "parent/" + s.Host + "/" + strconv.FormatInt(s.PPID, 10), parent, true
	case rules.GroupExecutable:
		if s.Exe == "" {
			return "", s, false
		}
		return "executable/" + s.Host + "/" + s.Exe, Subject{Exe: s.Exe, ExePath: s.ExePath, Host: s.Host}, true
	case rules.GroupContainer:
		if s.Container == "" {
			return "", s, false
		}
		// A container's processes share its CPU limit.
		return "container/" + s.Container, Subject{Container: s.Container, Host: s.Host, CPULimit: s.CPULimit}, true
	default:
		return "host/" + s.Host, Subject{Host: s.Host}, true
	}
}

// lifecycleEvent maps a record's event name to a rule's event.
func lifecycleEvent(name string) (string, bool) {
	switch name {
	case contract.EventFork:
		return "fork", true
	case contract.EventExec:
		return "exec", true
	case contract.EventExit:
		return "exit", true
	}
	return "", false
}
