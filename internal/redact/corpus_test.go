package redact

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// maxFalseMaskRate bounds the share of ordinary command lines with at
// least one masked argument (testdata/ordinary.txt).
const maxFalseMaskRate = 0.02

// splitWords splits a command line as a shell would for the corpus: single
// and double quotes group words; \n in double quotes is a newline, \" a
// quote.
func splitWords(t testing.TB, line string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == 0 && c == ' ':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
			continue
		case quote == 0 && (c == '\'' || c == '"'):
			quote, in = c, true
			continue
		case quote != 0 && c == quote:
			quote = 0
			continue
		case quote == '"' && c == '\\' && i+1 < len(line):
			i++
			switch line[i] {
			case 'n':
				c = '\n'
			default:
				c = line[i]
			}
		case quote == 0 && c == '\\' && i+1 < len(line):
			i++
			c = line[i]
		}
		w.WriteByte(c)
		in = true
	}
	if quote != 0 {
		t.Fatalf("unclosed quote in %q", line)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

func readCorpus(t testing.TB, name string) []string {
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := s.Text(); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestSecretCorpus: no secret of testdata/secrets.txt reaches the output.
func TestSecretCorpus(t *testing.T) {
	lines := readCorpus(t, "secrets.txt")
	if len(lines) < 50 {
		t.Fatalf("corpus has %d entries, want at least 50", len(lines))
	}
	leaks := 0
	for _, l := range lines {
		secret, cmd, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("no tab in %q", l)
		}
		args := splitWords(t, cmd)
		out := Args(args)
		if joined := strings.Join(out, "\x00"); strings.Contains(joined, secret) {
			leaks++
			t.Errorf("leak of %q: %q", secret, out)
		}
		if again := Args(out); !slices.Equal(again, out) {
			t.Errorf("not idempotent: %q → %q", out, again)
		}
	}
	t.Logf("leaks: %d/%d", leaks, len(lines))
}

// TestOrdinaryCorpus bounds the false masks on ordinary command lines.
func TestOrdinaryCorpus(t *testing.T) {
	lines := readCorpus(t, "ordinary.txt")
	if len(lines) < 100 {
		t.Fatalf("corpus has %d entries, want at least 100", len(lines))
	}
	masked := 0
	for _, l := range lines {
		args := splitWords(t, l)
		out := Args(args)
		if !slices.Equal(out, args) {
			masked++
			t.Logf("false mask: %q → %q", args, out)
		}
	}
	rate := float64(masked) / float64(len(lines))
	t.Logf("false masks: %d/%d (%.1f%%)", masked, len(lines), rate*100)
	if rate > maxFalseMaskRate {
		t.Errorf("false masks: %d/%d (%.1f%%), want at most %.0f%%", masked, len(lines), rate*100, maxFalseMaskRate*100)
	}
}
