package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

func sampleStats() insightsapi.Stats {
	st := insightsapi.Stats{
		Started:      at.Add(-time.Hour),
		Now:          at,
		Records:      map[insightsapi.EventType]uint64{"fork": 10, "exec": 9, "exit": 8, "incident": 2},
		Rates:        map[insightsapi.EventType]float64{"fork": 12, "exec": 10.5, "exit": 11.9},
		Lost:         map[string]float64{"ring_full": 0, "queue_full": 0},
		CollectorCPU: 12.34,
		CollectorRSS: 67 << 20,
		Processes:    3,
	}
	st.Incidents.Firing, st.Incidents.Resolved = 1, 1
	st.StreamClients = 2
	return st
}

func sampleProcesses(sort string) insightsapi.ProcessList {
	procs := []insightsapi.Process{
		{PID: 4412, PPID: 4400, Executable: "java", Command: "java -jar app.jar", CPUCores: 0.97, CPUTime: 83, MemoryRSS: 512 << 20, Threads: 40},
		{PID: 8821, PPID: 1, Executable: "node", Command: "node server.js", CPUCores: 0.05, CPUTime: 3, MemoryRSS: 2 << 30, Threads: 11},
		{PID: 77, PPID: 1, Executable: "otelcol-linnix", CPUCores: 0.01, CPUTime: 12.34, MemoryRSS: 67 << 20, Threads: 9},
	}
	if sort == insightsapi.SortMemory {
		procs[0], procs[1] = procs[1], procs[0]
	}
	return insightsapi.ProcessList{Collected: at, Total: 3, Processes: procs}
}

// fakeSource answers top's queries with the samples and records the sort
// orders asked for.
type fakeSource struct {
	mu    sync.Mutex
	sorts []string
}

func (f *fakeSource) Processes(_ context.Context, sort string, _ int) (insightsapi.ProcessList, error) {
	f.mu.Lock()
	f.sorts = append(f.sorts, sort)
	f.mu.Unlock()
	return sampleProcesses(sort), nil
}

func (f *fakeSource) Stats(context.Context) (insightsapi.Stats, error) { return sampleStats(), nil }

func (f *fakeSource) Incidents(context.Context) (insightsapi.IncidentList, error) {
	return insightsapi.IncidentList{Incidents: []insightsapi.Incident{forkStorm, cpuSpin}}, nil
}

// loadedTop is a top model that has had one refresh, on a 120x30 screen.
func loadedTop(t *testing.T, src *fakeSource) topModel {
	t.Helper()
	m := newTopModel(src, "http://127.0.0.1:7070", 2*time.Second, insightsapi.SortCPU, stylesWithProfile(termenv.Ascii))
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	next, _ = next.Update(m.fetch()())
	return next.(topModel)
}

func TestTopRendersTheSnapshot(t *testing.T) {
	view := loadedTop(t, &fakeSource{}).View()
	lines := strings.Split(view, "\n")
	if len(lines) != 30 {
		t.Errorf("%d lines on a 30-line screen", len(lines))
	}
	for _, want := range []string{
		"linnix top http://127.0.0.1:7070  sort: CPU  every 2s",
		"collector  CPU 12.34 s  RSS 67.0 MiB  lost none",
		"events/s   fork 12.0/s  exec 10.5/s  exit 11.9/s  processes 3",
		"incidents  1 firing, 1 resolved",
		"  CRITICAL fork_storm 5190 processes forked in 5s on web-3 (1038/s)  047e83a903603901, 0s ago",
		"     PID     PPID    CPU%   CPU TIME         RSS   THR  EXECUTABLE       COMMAND",
		"    4412     4400   97.0%      1m23s   512.0 MiB    40  java             java -jar app.jar",
		"    8821        1    5.0%     3.000s     2.0 GiB    11  node             node server.js",
		"processes 1-3 of 3",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("screen lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "cpu_spin") {
		t.Errorf("a resolved incident is listed as open:\n%s", view)
	}
	// The CPU order: java above node.
	if strings.Index(view, " java ") > strings.Index(view, " node ") {
		t.Errorf("not sorted by CPU:\n%s", view)
	}
	for _, l := range lines {
		if len([]rune(l)) > 120 {
			t.Errorf("line wider than the screen: %q", l)
		}
	}
}

func TestTopKeysSwitchTheSortAndQuit(t *testing.T) {
	src := &fakeSource{}
	m := loadedTop(t, src)
	next, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'m'}})
	if cmd == nil {
		t.Fatal("m asked for nothing")
	}
	// Before the API answers, the rows on screen are already re-sorted.
	if v := next.View(); !strings.Contains(v, "sort: memory") || strings.Index(v, " node ") > strings.Index(v, " java ") {
		t.Errorf("rows not re-sorted by memory at once:\n%s", v)
	}
	next, _ = next.Update(cmd())
	view := next.View()
	if !strings.Contains(view, "sort: memory") {
		t.Errorf("header after m:\n%s", view)
	}
	if strings.Index(view, " node ") > strings.Index(view, " java ") {
		t.Errorf("not sorted by memory after m:\n%s", view)
	}
	src.mu.Lock()
	sorts := append([]string(nil), src.sorts...)
	src.mu.Unlock()
	if strings.Join(sorts, ",") != "cpu,memory" {
		t.Errorf("sorts asked of the API: %v", sorts)
	}

	// A refresh asked in the old order, arriving late, is ignored.
	stale := snapshotMsg{sort: insightsapi.SortCPU, snap: snapshot{procs: sampleProcesses(insightsapi.SortCPU), stats: sampleStats()}}
	next, _ = next.Update(stale)
	if strings.Index(next.View(), " node ") > strings.Index(next.View(), " java ") {
		t.Errorf("a stale CPU-ordered answer replaced the memory order")
	}

	next, cmd = next.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'c'}})
	next, _ = next.Update(cmd())
	if !strings.Contains(next.View(), "sort: CPU") {
		t.Errorf("header after c:\n%s", next.View())
	}
	_, cmd = next.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'q'}})
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
}

func TestTopScrollsWithArrowsWithinTheList(t *testing.T) {
	m := loadedTop(t, &fakeSource{})
	// A screen with room for one process row.
	next, _ := m.Update(tea.WindowSizeMsg{Width: 120, Height: m.headerLines() + 2})
	rows := func(mm tea.Model) string {
		v := mm.View()
		return v[strings.Index(v, "COMMAND"):]
	}
	if !strings.Contains(rows(next), "java") || strings.Contains(rows(next), "node") {
		t.Fatalf("first row:\n%s", next.View())
	}
	down := tea.KeyMsg{Type: tea.KeyDown}
	next, _ = next.Update(down)
	if !strings.Contains(rows(next), "node") || !strings.Contains(rows(next), "processes 2-2 of 3") {
		t.Errorf("after down:\n%s", next.View())
	}
	for range 5 {
		next, _ = next.Update(down)
	}
	if !strings.Contains(rows(next), "processes 3-3 of 3") {
		t.Errorf("scrolled past the end:\n%s", next.View())
	}
	next, _ = next.Update(tea.KeyMsg{Type: tea.KeyUp})
	if !strings.Contains(rows(next), "processes 2-2 of 3") {
		t.Errorf("after up:\n%s", next.View())
	}
}

func TestTopShowsTheCollectorsCPURateAndErrors(t *testing.T) {
	m := loadedTop(t, &fakeSource{})
	later := sampleStats()
	later.Now = later.Now.Add(2 * time.Second)
	later.CollectorCPU += 0.1 // 5% of a core over 2s
	next, _ := m.Update(snapshotMsg{sort: insightsapi.SortCPU, snap: snapshot{procs: sampleProcesses(insightsapi.SortCPU), stats: later}})
	if v := next.View(); !strings.Contains(v, "collector  CPU 5.0% (12.44 s)") {
		t.Errorf("no CPU rate:\n%s", v)
	}
	next, _ = next.Update(snapshotMsg{sort: insightsapi.SortCPU, err: &unreachableError{base: "http://127.0.0.1:7070", err: context.DeadlineExceeded}})
	v := next.View()
	if !strings.Contains(v, "error: cannot reach the linnix insights API at http://127.0.0.1:7070") || !strings.Contains(v, "java") {
		t.Errorf("an error hides the last snapshot or is not shown:\n%s", v)
	}
}

func TestStatsIsReadable(t *testing.T) {
	got := formatStats(sampleStats(), "http://127.0.0.1:7070", stylesWithProfile(termenv.Ascii))
	for _, want := range []string{
		"API         http://127.0.0.1:7070, exporter up 1h0m0s",
		"Records     fork 10  exec 9  exit 8  incident 2",
		"Rates (1m)  fork 12.0/s  exec 10.5/s  exit 11.9/s",
		"Collector   CPU 12.34 s in total, RSS 67.0 MiB",
		"Lost        none",
		"Incidents   1 firing, 1 resolved",
		"Stream      2 clients, 0 records dropped for slow clients",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stats lacks %q:\n%s", want, got)
		}
	}
	st := sampleStats()
	st.Lost["ring_full"] = 3
	if got := formatStats(st, "x", stylesWithProfile(termenv.Ascii)); !strings.Contains(got, "Lost        queue_full 0, ring_full 3") {
		t.Errorf("losses not listed:\n%s", got)
	}
}
