package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"

	"github.com/linnix-os/otelcol-linnix/internal/contract"
	"github.com/linnix-os/otelcol-linnix/internal/insightsapi"
)

// topLimit is how many processes top asks for: more than a screen holds,
// so that scrolling shows every process the collector reports (its top_n
// by CPU and by memory, 50 each by default).
const topLimit = 500

func newTopCommand(o *options) *cobra.Command {
	var (
		interval time.Duration
		sortBy   string
	)
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Full-screen view of the heaviest processes, event rates, open incidents and the collector's own cost",
		Long: `top shows the processes the collector reports, by CPU or by memory, the fork,
exec and exit rates, the open incidents and, in the header, the collector's own
CPU, resident memory and lost events. Keys: c sort by CPU, m sort by memory,
arrows, PgUp/PgDn, Home scroll, q quit.`,
		Example: `  linnix top
  linnix top --interval 5s --sort memory`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval < 100*time.Millisecond {
				return usageError{fmt.Errorf("--interval: must be at least 100ms, got %v", interval)}
			}
			if sortBy != insightsapi.SortCPU && sortBy != insightsapi.SortMemory {
				return usageError{fmt.Errorf("--sort: must be cpu or memory, got %q", sortBy)}
			}
			c := o.client()
			// Fail before taking the screen when the API does not answer.
			if _, err := c.Stats(cmd.Context()); err != nil {
				return err
			}
			m := newTopModel(c, c.base(), interval, sortBy, o.styles())
			p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(cmd.Context()),
				tea.WithInput(o.stdin), tea.WithOutput(o.stdout))
			_, err := p.Run()
			if err != nil && cmd.Context().Err() != nil {
				return nil // interrupted: a normal way to leave
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh interval")
	cmd.Flags().StringVar(&sortBy, "sort", insightsapi.SortCPU, "initial sort: cpu or memory")
	return cmd
}

// topSource is what top reads; the API client in use, a fake in tests.
type topSource interface {
	Processes(ctx context.Context, sort string, limit int) (insightsapi.ProcessList, error)
	Stats(ctx context.Context) (insightsapi.Stats, error)
	Incidents(ctx context.Context) (insightsapi.IncidentList, error)
}

// snapshot is one refresh of everything top shows.
type snapshot struct {
	procs     insightsapi.ProcessList
	stats     insightsapi.Stats
	incidents []insightsapi.Incident
}

type snapshotMsg struct {
	sort string // the order the processes were asked in
	snap snapshot
	err  error
}

type tickMsg struct{}

type topKeys struct {
	cpu, memory, quit, up, down, pageUp, pageDown, home key.Binding
}

var keys = topKeys{
	cpu:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "sort by CPU")),
	memory:   key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "sort by memory")),
	quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	up:       key.NewBinding(key.WithKeys("up", "k")),
	down:     key.NewBinding(key.WithKeys("down", "j")),
	pageUp:   key.NewBinding(key.WithKeys("pgup")),
	pageDown: key.NewBinding(key.WithKeys("pgdown", " ")),
	home:     key.NewBinding(key.WithKeys("home", "g")),
}

// topModel is the bubbletea model of `linnix top`. Update and View need no
// terminal: tests drive them with messages.
type topModel struct {
	src      topSource
	addr     string
	interval time.Duration
	sort     string
	styles   styles

	width, height int
	offset        int // first process row shown

	snap    snapshot
	loaded  bool
	err     error
	cpuRate float64 // collector CPU over the last refresh, in cores
	hasRate bool
}

func newTopModel(src topSource, addr string, interval time.Duration, sort string, s styles) topModel {
	return topModel{src: src, addr: addr, interval: interval, sort: sort, styles: s, width: 120, height: 40}
}

func (m topModel) Init() tea.Cmd {
	return tea.Batch(m.fetch(), m.tick())
}

func (m topModel) tick() tea.Cmd {
	return tea.Tick(m.interval, func(time.Time) tea.Msg { return tickMsg{} })
}

// fetch reads a snapshot in the background.
func (m topModel) fetch() tea.Cmd {
	src, sortBy, timeout := m.src, m.sort, max(m.interval, 5*time.Second)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var s snapshot
		var err error
		if s.procs, err = src.Processes(ctx, sortBy, topLimit); err != nil {
			return snapshotMsg{sort: sortBy, err: err}
		}
		if s.stats, err = src.Stats(ctx); err != nil {
			return snapshotMsg{sort: sortBy, err: err}
		}
		l, err := src.Incidents(ctx)
		if err != nil {
			return snapshotMsg{sort: sortBy, err: err}
		}
		s.incidents = l.Incidents
		return snapshotMsg{sort: sortBy, snap: s}
	}
}

func (m topModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.offset = m.clampOffset(m.offset)
	case tickMsg:
		return m, tea.Batch(m.fetch(), m.tick())
	case snapshotMsg:
		if msg.sort != m.sort {
			return m, nil // asked before the sort changed; a fresh one is on its way
		}
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		if m.loaded {
			if dt := msg.snap.stats.Now.Sub(m.snap.stats.Now).Seconds(); dt > 0 {
				m.cpuRate = (msg.snap.stats.CollectorCPU - m.snap.stats.CollectorCPU) / dt
				m.hasRate = m.cpuRate >= 0
			}
		}
		m.snap, m.loaded, m.err = msg.snap, true, nil
		m.offset = m.clampOffset(m.offset)
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, keys.quit):
			return m, tea.Quit
		case key.Matches(msg, keys.cpu):
			return m.sortBy(insightsapi.SortCPU)
		case key.Matches(msg, keys.memory):
			return m.sortBy(insightsapi.SortMemory)
		case key.Matches(msg, keys.up):
			m.offset = m.clampOffset(m.offset - 1)
		case key.Matches(msg, keys.down):
			m.offset = m.clampOffset(m.offset + 1)
		case key.Matches(msg, keys.pageUp):
			m.offset = m.clampOffset(m.offset - m.tableRows())
		case key.Matches(msg, keys.pageDown):
			m.offset = m.clampOffset(m.offset + m.tableRows())
		case key.Matches(msg, keys.home):
			m.offset = 0
		}
	}
	return m, nil
}

// sortBy switches the order and asks for a snapshot in it at once. Until
// it comes, the rows on screen are re-sorted here, so that the header
// never names an order the table does not show.
func (m topModel) sortBy(s string) (tea.Model, tea.Cmd) {
	if m.sort == s {
		return m, nil
	}
	m.sort, m.offset = s, 0
	procs := slices.Clone(m.snap.procs.Processes)
	slices.SortStableFunc(procs, func(a, b insightsapi.Process) int {
		if s == insightsapi.SortMemory {
			return cmp.Compare(b.MemoryRSS, a.MemoryRSS)
		}
		return cmp.Compare(b.CPUCores, a.CPUCores)
	})
	m.snap.procs.Processes = procs
	return m, m.fetch()
}

// openIncidents are the firing ones, as many as fit under the header.
func (m topModel) openIncidents() []insightsapi.Incident {
	var open []insightsapi.Incident
	for _, inc := range m.snap.incidents {
		if inc.State == contract.StateFiring {
			open = append(open, inc)
		}
	}
	return open
}

const maxIncidentLines = 5

// headerLines counts the lines above the process table, its column
// header included.
func (m topModel) headerLines() int {
	n := 4 // title, collector, events, incidents
	n += min(len(m.openIncidents()), maxIncidentLines)
	return n + 2 // blank, column header
}

// tableRows is how many process rows fit between the header and the
// footer line.
func (m topModel) tableRows() int {
	return max(m.height-m.headerLines()-1, 1)
}

func (m topModel) clampOffset(off int) int {
	return max(min(off, len(m.snap.procs.Processes)-m.tableRows()), 0)
}

func (m topModel) View() string {
	s := m.styles
	var lines []string
	add := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }

	sortName := "CPU"
	if m.sort == insightsapi.SortMemory {
		sortName = "memory"
	}
	now := ""
	if m.loaded {
		now = m.snap.stats.Now.Local().Format("15:04:05")
	}
	add("%s %s  sort: %s  every %s  %s", s.bold.Render("linnix top"), m.addr, s.bold.Render(sortName), m.interval, now)
	st := m.snap.stats
	switch {
	case !m.loaded && m.err == nil:
		add("collector  waiting for the first answer...")
	case st.SelfMetricsError != "":
		add("collector  %s", s.warn.Render("own metrics unavailable: "+st.SelfMetricsError))
	default:
		cpu := fmt.Sprintf("%.2f s", st.CollectorCPU)
		if m.hasRate {
			cpu = fmt.Sprintf("%.1f%% (%s)", m.cpuRate*100, cpu)
		}
		add("collector  CPU %s  RSS %s  lost %s", cpu, formatBytes(st.CollectorRSS), formatLost(st.Lost, s))
	}
	add("events/s   %s  processes %d", formatRates(st.Rates), st.Processes)
	open := m.openIncidents()
	incidents := fmt.Sprintf("incidents  %d firing, %d resolved", st.Incidents.Firing, st.Incidents.Resolved)
	if m.err != nil {
		incidents += "  " + s.fail.Render("error: "+firstLine(m.err.Error()))
	}
	add("%s", incidents)
	for i, inc := range open {
		if i == maxIncidentLines {
			break
		}
		add("  %s %s %s  %s", s.severity(inc.Severity).Render(fmt.Sprintf("%-8s", strings.ToUpper(inc.Severity))),
			inc.Rule, inc.Summary, s.dim.Render(inc.ID+", "+ago(st.Now, inc.Started)))
	}
	add("")
	add("%s", s.bold.Render(fmt.Sprintf("%8s %8s %7s %10s %11s %5s  %-16s %s", "PID", "PPID", "CPU%", "CPU TIME", "RSS", "THR", "EXECUTABLE", "COMMAND")))
	procs := m.snap.procs.Processes
	end := min(m.offset+m.tableRows(), len(procs))
	for _, p := range procs[m.offset:end] {
		add("%8d %8d %6.1f%% %10s %11s %5d  %-16s %s", p.PID, p.PPID, p.CPUCores*100, formatSeconds(p.CPUTime),
			formatBytes(p.MemoryRSS), p.Threads, ansi.Truncate(p.Executable, 16, ""), p.Command)
	}
	for len(lines) < m.height-1 {
		add("")
	}
	shown := "no processes yet"
	if len(procs) > 0 {
		shown = fmt.Sprintf("processes %d-%d of %d", m.offset+1, end, len(procs))
	}
	add("%s", s.dim.Render(fmt.Sprintf("c CPU · m memory · ↑↓ PgUp PgDn scroll · q quit    %s", shown)))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "")
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
