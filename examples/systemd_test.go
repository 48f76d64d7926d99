package examples

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unitFile is a systemd unit: section -> key -> values, in order (a key may
// repeat).
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, data []byte) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("line %d: %q is not key=value in a section", n, line)
			}
			u[section][key] = append(u[section][key], value)
		}
	}
	return u
}

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

const unitPath = "../packaging/otelcol-linnix.service"

func TestUnitRunsAsItsUserWithOnlyTheCollectorsCapabilities(t *testing.T) {
	u := parseUnit(t, readFile(t, unitPath))
	for key, want := range map[string]string{
		"User":                   "otelcol-linnix",
		"Group":                  "otelcol-linnix",
		"ExecStart":              "/usr/bin/otelcol-linnix --config /etc/otelcol-linnix/config.yaml",
		"NoNewPrivileges":        "yes",
		"ProtectSystem":          "strict",
		"ProtectHome":            "yes",
		"PrivateTmp":             "yes",
		"ProtectKernelModules":   "yes",
		"ProtectControlGroups":   "yes",
		"StateDirectory":         "otelcol-linnix",
		"WorkingDirectory":       "/var/lib/otelcol-linnix",
		"RestrictSUIDSGID":       "yes",
		"LockPersonality":        "yes",
		"MemoryDenyWriteExecute": "yes",
	} {
		if got := u.get("Service", key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	caps := []string{"CAP_BPF", "CAP_PERFMON"}
	for _, key := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		if got := slices.Sorted(slices.Values(strings.Fields(u.get("Service", key)))); !slices.Equal(got, caps) {
			t.Errorf("%s=%v, want exactly %v", key, got, caps)
		}
	}
	if fams := strings.Fields(u.get("Service", "RestrictAddressFamilies")); len(fams) == 0 || slices.Contains(fams, "AF_PACKET") {
		t.Errorf("RestrictAddressFamilies=%v", fams)
	}
	// What would break it: hiding other users' processes or /proc/meminfo,
	// or capabilities that count only in a user namespace.
	for key, bad := range map[string]string{"ProtectProc": "invisible", "ProcSubset": "pid", "PrivateUsers": "yes"} {
		if u.get("Service", key) == bad {
			t.Errorf("%s=%s stops the collector from seeing the host", key, bad)
		}
	}
	if u.get("Install", "WantedBy") != "multi-user.target" {
		t.Error("not wanted by multi-user.target")
	}

	// The packaged config writes only where the sandbox lets it.
	cfg := parseCollectorConfig(t, readFile(t, "..", "packaging", "config.yaml"))
	for name, e := range cfg.Exporters {
		if p, ok := lookup(e, "path").(string); ok && !strings.HasPrefix(p, "/var/lib/otelcol-linnix/") {
			t.Errorf("exporter %s writes %s, outside the state directory", name, p)
		}
	}
}

func TestUnitPassesSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	require(t, err == nil, "systemd-analyze")
	// verify wants ExecStart's binary to exist: point it at a stand-in
	// under a temporary directory, the rest of the unit unchanged.
	dir := t.TempDir()
	bin := filepath.Join(dir, "otelcol-linnix")
	if err := os.Symlink("/bin/true", bin); err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(readFile(t, unitPath)), "ExecStart=/usr/bin/otelcol-linnix", "ExecStart="+bin)
	path := filepath.Join(dir, "otelcol-linnix.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on unknown keys and unparsable values, which it only
	// prints: any output is a finding.
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
