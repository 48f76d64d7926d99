package procfilter

import "testing"

func TestKeep(t *testing.T) {
	f, err := New(
		Criteria{Executables: []string{"^python", "^node$"}, Cgroups: []string{"/kubepods"}},
		Criteria{UIDs: []uint32{0}},
	)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p    Process
		want bool
	}{
		{Process{"python3", 1000, "/kubepods/burstable/pod1/abc"}, true},
		{Process{"node", 1000, "/kubepods"}, true},
		{Process{"nodejs", 1000, "/kubepods"}, false},           // regexp anchored
		{Process{"python3", 1000, "/kubepods-extra/x"}, false},  // prefix is by path segment
		{Process{"python3", 1000, "/system.slice/a"}, false},    // include lists are ANDed
		{Process{"python3", 0, "/kubepods/burstable/x"}, false}, // excluded uid
	}
	for _, c := range cases {
		if got := f.Keep(c.p); got != c.want {
			t.Errorf("Keep(%+v) = %v, want %v", c.p, got, c.want)
		}
	}
	var none *Filter
	if !none.Keep(Process{}) {
		t.Error("nil filter must keep everything")
	}
	if _, err := New(Criteria{Executables: []string{"("}}, Criteria{}); err == nil {
		t.Error("bad regexp accepted")
	}
}
