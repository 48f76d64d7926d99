package ebpfprocessreceiver

import (
	"slices"
	"testing"

	"github.com/linnix-os/otelcol-linnix/receiver/ebpfprocessreceiver/internal/procfilter"
)

func pids(cands []candidate) []uint32 {
	var out []uint32
	for _, c := range cands {
		out = append(out, c.pid)
	}
	slices.Sort(out)
	return out
}

func TestSelectTopKeepsUnionOfCPUAndMemoryLeaders(t *testing.T) {
	cands := []candidate{
		{pid: 1, cores: 0.9, rss: 10},
		{pid: 2, cores: 0.1, rss: 9000},
		{pid: 3, cores: 0.5, rss: 20},
		{pid: 4, cores: -1, rss: 5000},
		{pid: 5, cores: 0.0, rss: 1},
	}
	c := &collector{cfg: &Config{TopN: 2}}
	if got, want := pids(c.selectTop(slices.Clone(cands))), []uint32{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("top 2 = %v, want %v", got, want)
	}
	c.cfg.TopN = 0
	if got := c.selectTop(slices.Clone(cands)); len(got) != len(cands) {
		t.Errorf("top_n 0 kept %d of %d", len(got), len(cands))
	}
}

func TestFloorsKeepWhatReachesEither(t *testing.T) {
	c := &collector{cfg: &Config{MinCPUUtilization: 0.5, MinMemoryBytes: 1000}}
	cases := []struct {
		cd   candidate
		want bool
	}{
		{candidate{cores: 0.5, rss: 0}, true},
		{candidate{cores: 0.49, rss: 1000}, true},
		{candidate{cores: 0.49, rss: 999}, false},
		{candidate{cores: -1, rss: 10}, false},
	}
	for _, tc := range cases {
		if got := c.keep(&tc.cd, 0); got != tc.want {
			t.Errorf("keep(%+v) = %v, want %v", tc.cd, got, tc.want)
		}
	}
	excl, err := procfilter.New(procfilter.Criteria{}, procfilter.Criteria{Executables: []string{"^sshd$"}})
	if err != nil {
		t.Fatal(err)
	}
	c = &collector{cfg: &Config{}, filter: excl}
	if c.keep(&candidate{exeName: "sshd"}, 0) || !c.keep(&candidate{exeName: "bash"}, 0) {
		t.Error("exclude filter not applied to metrics")
	}
}
