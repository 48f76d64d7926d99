package examples

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linnix-os/otelcol-linnix/internal/kerneltest"
)

const pkgName = "otelcol-linnix"

// installedPaths are what the package puts on the system, and what a purge
// must take away again (with the user and the state directory).
var installedPaths = []string{
	"/usr/bin/otelcol-linnix",
	"/usr/bin/linnix",
	"/usr/lib/systemd/system/otelcol-linnix.service",
	"/etc/otelcol-linnix/config.yaml",
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var packages struct {
	once     sync.Once
	deb, rpm string
	err      error
}

// buildPackages runs `make package` in the repository once, as a user
// would, and returns the .deb and the .rpm it wrote to dist/.
func buildPackages(t *testing.T) (deb, rpm string) {
	t.Helper()
	_, err := exec.LookPath("make")
	require(t, err == nil, "make")
	packages.once.Do(func() {
		if out, err := exec.Command("make", "-C", repoRoot, "package").CombinedOutput(); err != nil {
			packages.err = fmt.Errorf("make package: %v\n%s", err, out)
			return
		}
		debs, _ := filepath.Glob(filepath.Join(repoRoot, "dist", pkgName+"_*.deb"))
		rpms, _ := filepath.Glob(filepath.Join(repoRoot, "dist", pkgName+"-*.rpm"))
		if len(debs) != 1 || len(rpms) != 1 {
			packages.err = fmt.Errorf("make package wrote %v and %v, want one .deb and one .rpm", debs, rpms)
			return
		}
		packages.deb, packages.rpm = debs[0], rpms[0]
	})
	if packages.err != nil {
		t.Fatal(packages.err)
	}
	for _, p := range []string{packages.deb, packages.rpm} {
		st, err := os.Stat(p)
		if err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v, %d bytes", p, err, st.Size())
		}
		t.Logf("%s: %d bytes", filepath.Base(p), st.Size())
	}
	return packages.deb, packages.rpm
}

func TestDebInstallsRunsAsItsUserAndPurgesClean(t *testing.T) {
	require(t, os.Geteuid() == 0, "root (dpkg -i)")
	_, err := exec.LookPath("dpkg")
	require(t, err == nil, "dpkg")
	kerneltest.Require(t)
	deb, _ := buildPackages(t)
	// dpkg takes a host-wide lock, and the collector started below loads
	// BPF: one such test at a time on the host (the build above needs no
	// lock).
	kerneltest.Exclusive(t)
	if exec.Command("dpkg", "-s", pkgName).Run() == nil {
		t.Fatalf("%s is already installed on this host: refusing to replace it", pkgName)
	}
	if _, err := user.Lookup(pkgName); err == nil {
		t.Fatalf("user %s already exists on this host: refusing to run", pkgName)
	}

	t.Cleanup(func() {
		// A failure half-way must not leave the package on the host.
		if exec.Command("dpkg", "-s", pkgName).Run() == nil {
			exec.Command("dpkg", "--purge", pkgName).Run()
		}
		// Nor the user a failed postrm would keep (it did not exist before).
		if _, err := user.Lookup(pkgName); err == nil {
			exec.Command("userdel", pkgName).Run()
		}
		if _, err := user.LookupGroup(pkgName); err == nil {
			exec.Command("groupdel", pkgName).Run()
		}
	})
	run(t, "dpkg", "-i", deb)

	for _, p := range installedPaths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	for installed, source := range map[string]string{
		"/usr/lib/systemd/system/otelcol-linnix.service": "packaging/otelcol-linnix.service",
		"/etc/otelcol-linnix/config.yaml":                "packaging/config.yaml",
	} {
		if got, _ := os.ReadFile(installed); !bytes.Equal(got, readFile(t, repoRoot, source)) {
			t.Errorf("%s differs from %s", installed, source)
		}
	}
	if conffiles := run(t, "dpkg-query", "-W", "-f=${Conffiles}", pkgName); !strings.Contains(conffiles, "/etc/otelcol-linnix/config.yaml") {
		t.Errorf("the config is not a conffile (kept across upgrades): %q", conffiles)
	}
	u, err := user.Lookup(pkgName)
	if err != nil {
		t.Fatalf("postinst did not create the user: %v", err)
	}
	if passwd := run(t, "getent", "passwd", pkgName); !strings.Contains(passwd, "nologin") && !strings.HasSuffix(strings.TrimSpace(passwd), "/bin/false") {
		t.Errorf("the service user can log in: %s", passwd)
	}
	run(t, "/usr/bin/otelcol-linnix", "validate", "--config", "/etc/otelcol-linnix/config.yaml")

	// Start it the way the unit does, without systemd: as the user, with
	// the unit's ambient capabilities and nothing else, in the state
	// directory systemd would create; then see a process we spawn arrive in
	// its events file.
	runAsServiceUser(t, u)

	run(t, "dpkg", "--purge", pkgName)
	for _, p := range append(installedPaths, "/etc/otelcol-linnix", "/var/lib/otelcol-linnix") {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after purge (%v)", p, err)
		}
	}
	if _, err := user.Lookup(pkgName); err == nil {
		t.Error("the user is left after purge")
	}
	if _, err := user.LookupGroup(pkgName); err == nil {
		t.Error("the group is left after purge")
	}
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func runAsServiceUser(t *testing.T, u *user.User) {
	t.Helper()
	_, err := exec.LookPath("setpriv")
	require(t, err == nil, "setpriv (util-linux)")
	state := "/var/lib/otelcol-linnix"
	run(t, "install", "-d", "-m", "0750", "-o", u.Uid, "-g", u.Gid, state)

	// The packaged config on free ports, so that nothing else on the host
	// is disturbed.
	health, telemetry, insights := freePort(t), freePort(t), freePort(t)
	cfg := strings.NewReplacer(
		"127.0.0.1:13133", "127.0.0.1:"+health,
		"127.0.0.1:9464", "127.0.0.1:"+freePort(t),
		"127.0.0.1:7070", "127.0.0.1:"+insights,
		"127.0.0.1:8888", "127.0.0.1:"+telemetry,
		"port: 8888", "port: "+telemetry,
	).Replace(string(readFile(t, "/etc/otelcol-linnix/config.yaml")))
	cfgPath := filepath.Join(state, "test-config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	caps := "+bpf,+perfmon"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "setpriv", "--reuid", u.Uid, "--regid", u.Gid, "--clear-groups",
		"--inh-caps", "-all,"+caps, "--ambient-caps", caps, "--bounding-set", "-all,"+caps,
		"/usr/bin/otelcol-linnix", "--config", cfgPath)
	cmd.Dir = state
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	defer stop()

	// Healthy means every pipeline started, the eBPF receiver included.
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + health + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("the collector, run as %s with ambient capabilities, exited:\n%s", u.Username, out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the collector, run as %s with ambient capabilities, never became healthy:\n%s", u.Username, out.String())
		}
		time.Sleep(250 * time.Millisecond)
	}

	// A process of our own, with an argument nothing else uses: its exec
	// record must reach the events file.
	marker := fmt.Sprintf("linnix-package-test-%d", time.Now().UnixNano())
	events := filepath.Join(state, "linnix-events.jsonl")
	for time.Now().Before(deadline.Add(30 * time.Second)) {
		exec.Command("/bin/sh", "-c", "exit 0", marker).Run()
		time.Sleep(2 * time.Second)
		if data, _ := os.ReadFile(events); bytes.Contains(data, []byte(marker)) {
			// The packaged CLI reads the packaged collector.
			cli := exec.Command("/usr/bin/linnix", "stats")
			cli.Env = append(os.Environ(), "LINNIX_ADDR=127.0.0.1:"+insights)
			if out, err := cli.CombinedOutput(); err != nil {
				t.Fatalf("linnix stats against the installed collector: %v\n%s", err, out)
			}
			return
		}
	}
	stop()
	t.Fatalf("no record of the marker process in %s; collector output:\n%s", events, out.String())
}

func TestRpmHoldsTheFilesScriptsAndConfigFlags(t *testing.T) {
	_, rpmPath := buildPackages(t)
	h := readRPMHeader(t, rpmPath)

	if got := h.str(tagName); got != pkgName {
		t.Errorf("name %q", got)
	}
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[strings.TrimSpace(run(t, "go", "env", "GOARCH"))]
	if got := h.str(tagArch); got != arch {
		t.Errorf("arch %q, want %q", got, arch)
	}
	if got := h.str(tagVersion); got == "" {
		t.Error("no version")
	}
	dirs, bases, idx := h.strs(tagDirNames), h.strs(tagBaseNames), h.ints(tagDirIndexes)
	flags := h.ints(tagFileFlags)
	files := map[string]uint32{}
	for i, b := range bases {
		files[dirs[idx[i]]+b] = flags[i]
	}
	for _, p := range installedPaths {
		if _, ok := files[p]; !ok {
			t.Errorf("%s is not in the rpm (files %v)", p, files)
		}
	}
	const rpmfileConfig, rpmfileNoReplace = 1 << 0, 1 << 4
	if f := files["/etc/otelcol-linnix/config.yaml"]; f&rpmfileConfig == 0 || f&rpmfileNoReplace == 0 {
		t.Errorf("config flags %#x, want %%config(noreplace)", f)
	}
	if f := files["/usr/bin/otelcol-linnix"]; f&rpmfileConfig != 0 {
		t.Error("the binary is marked as config")
	}
	if post := h.str(tagPostIn); !strings.Contains(post, "useradd --system") {
		t.Errorf("%%post does not create the system user:\n%s", post)
	}
	for tag, what := range map[uint32]string{tagPreUn: "%preun", tagPostUn: "%postun"} {
		if h.str(tag) == "" {
			t.Errorf("no %s script", what)
		}
	}
	if !contains(h.strs(tagRequireName), "shadow-utils") {
		t.Errorf("requires %v, want shadow-utils (useradd)", h.strs(tagRequireName))
	}
}

// RPM header tags (rpm's lib/rpmtag.h).
const (
	tagName        = 1000
	tagVersion     = 1001
	tagArch        = 1022
	tagPostIn      = 1024
	tagPreUn       = 1025
	tagPostUn      = 1026
	tagFileFlags   = 1037
	tagRequireName = 1049
	tagDirIndexes  = 1116
	tagBaseNames   = 1117
	tagDirNames    = 1118
)

type rpmHeader struct {
	entries map[uint32]rpmEntry
	store   []byte
}

type rpmEntry struct{ typ, offset, count uint32 }

// readRPMHeader reads the main header of an rpm file (format: rpm's
// docs/manual/format_v4.md): a 96-byte lead, the signature header padded to
// 8 bytes, then the header, each an index of (tag, type, offset, count)
// entries followed by their data store. No rpm tool is installed here.
func readRPMHeader(t *testing.T, path string) rpmHeader {
	t.Helper()
	data := readFile(t, path)
	if len(data) < 96 || !bytes.Equal(data[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		t.Fatalf("%s: not an rpm", path)
	}
	parse := func(off int) (rpmHeader, int) {
		if off+16 > len(data) || !bytes.Equal(data[off:off+3], []byte{0x8e, 0xad, 0xe8}) {
			t.Fatalf("%s: no header at %d", path, off)
		}
		n := int(binary.BigEndian.Uint32(data[off+8:]))
		size := int(binary.BigEndian.Uint32(data[off+12:]))
		index := data[off+16:]
		storeAt := off + 16 + 16*n
		if storeAt+size > len(data) {
			t.Fatalf("%s: header at %d runs past the end", path, off)
		}
		h := rpmHeader{entries: map[uint32]rpmEntry{}, store: data[storeAt : storeAt+size]}
		for i := 0; i < n; i++ {
			e := index[16*i:]
			h.entries[binary.BigEndian.Uint32(e)] = rpmEntry{binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])}
		}
		return h, storeAt + size
	}
	_, end := parse(96)
	end = (end + 7) &^ 7
	h, _ := parse(end)
	return h
}

// strs reads a STRING (6), STRING_ARRAY (8) or I18NSTRING (9) entry.
func (h rpmHeader) strs(tag uint32) []string {
	e, ok := h.entries[tag]
	if !ok || (e.typ != 6 && e.typ != 8 && e.typ != 9) {
		return nil
	}
	var out []string
	b := h.store[e.offset:]
	for i := uint32(0); i < e.count; i++ {
		n := bytes.IndexByte(b, 0)
		out = append(out, string(b[:n]))
		b = b[n+1:]
	}
	return out
}

func (h rpmHeader) str(tag uint32) string {
	if s := h.strs(tag); len(s) > 0 {
		return s[0]
	}
	return ""
}

// ints reads an INT32 (4) array entry.
func (h rpmHeader) ints(tag uint32) []uint32 {
	e, ok := h.entries[tag]
	if !ok || e.typ != 4 {
		return nil
	}
	out := make([]uint32, e.count)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(h.store[int(e.offset)+4*i:])
	}
	return out
}
