package examples

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction: its keyword, upper-cased, and
// its arguments with line continuations joined.
type instruction struct {
	line int
	cmd  string
	args string
}

// stage is a FROM and the instructions after it.
type stage struct {
	base, name string
	body       []instruction
}

// parseDockerfile reads the instructions of a Dockerfile: comments and
// parser directives skipped, backslash continuations joined, enough of the
// grammar (https://docs.docker.com/reference/dockerfile/) for the checks
// below, which a container engine is not here to make.
func parseDockerfile(t *testing.T, data []byte) []stage {
	t.Helper()
	var stages []stage
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cur strings.Builder
	start, n := 0, 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Fatalf("line %d: FROM %s", in.line, in.args)
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("line %d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	if cur.Len() > 0 {
		t.Fatalf("line %d: a continuation runs past the end", start)
	}
	return stages
}

// execForm decodes the JSON array form of RUN, ENTRYPOINT and CMD; ok is
// false for the shell form.
func execForm(args string) ([]string, bool) {
	var v []string
	if !strings.HasPrefix(args, "[") || json.Unmarshal([]byte(args), &v) != nil || len(v) == 0 {
		return nil, false
	}
	return v, true
}

func TestDockerfileBuildsStaticBinaryOntoDistrolessAsNonRoot(t *testing.T) {
	stages := parseDockerfile(t, readFile(t, repoRoot, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and a final one", len(stages))
	}
	build := stages[0]
	if !strings.HasPrefix(build.base, "golang:1.26") || build.name == "" {
		t.Errorf("first stage FROM %s AS %s: want a named golang:1.26 builder", build.base, build.name)
	}
	var buildRuns string
	for _, in := range build.body {
		if in.cmd == "RUN" {
			buildRuns += in.args + "\n"
		}
	}
	for _, want := range []string{"cd cmd/otelcol-linnix", "CGO_ENABLED=0 go build", "-trimpath", "setcap cap_bpf,cap_perfmon+ep"} {
		if !strings.Contains(buildRuns, want) {
			t.Errorf("the build stage does not run %q", want)
		}
	}

	for i, s := range stages[1:] {
		final := i == len(stages)-2
		if s.base != "gcr.io/distroless/static-debian12:nonroot" && s.base != "scratch" {
			t.Errorf("stage %d runs on %s, not a minimal static base", i+1, s.base)
		}
		var user, entrypoint string
		copied := map[string]bool{}
		for _, in := range s.body {
			switch in.cmd {
			case "USER":
				user = in.args
			case "ENTRYPOINT":
				entrypoint = in.args
			case "RUN":
				if _, ok := execForm(in.args); !ok {
					t.Errorf("line %d: shell-form RUN in a stage with no shell", in.line)
				}
			case "COPY":
				f := strings.Fields(in.args)
				copied[f[len(f)-1]] = true
			case "CMD":
				if _, ok := execForm(in.args); !ok {
					t.Errorf("line %d: CMD in shell form", in.line)
				}
			}
		}
		if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
			t.Errorf("stage %d runs as %q, want a non-root USER", i+1, user)
		}
		ep, ok := execForm(entrypoint)
		if !ok || ep[0] != "/usr/bin/otelcol-linnix" {
			t.Errorf("stage %d ENTRYPOINT %q: want the exec form of /usr/bin/otelcol-linnix", i+1, entrypoint)
		}
		if !copied["/usr/bin/otelcol-linnix"] || !copied["/etc/otelcol-linnix/config.yaml"] {
			t.Errorf("stage %d copies %v: want the binary and a default config", i+1, copied)
		}
		if final && s.name != "" {
			t.Errorf("the last stage, the default image, is named %s", s.name)
		}
	}
}

func TestDockerfileDefaultConfigValidatesAndContextHoldsTheSources(t *testing.T) {
	validateConfig(t, filepath.Join(repoRoot, "packaging", "container-config.yaml"))
	var ignored []string
	for _, line := range strings.Split(string(readFile(t, repoRoot, ".dockerignore")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, line)
		}
	}
	for _, needed := range []string{"go.mod", "cmd", "bpf", "receiver", "processor", "exporter", "internal", "packaging"} {
		for _, pattern := range ignored {
			if m, _ := filepath.Match(pattern, needed); m {
				t.Errorf(".dockerignore pattern %q leaves %s out of the build context", pattern, needed)
			}
		}
	}
}
