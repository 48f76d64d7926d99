package redact

import (
	"slices"
	"strings"
	"testing"
)

// FuzzArgs: for any command line (NUL-separated arguments) redaction never
// panics, keeps the number of arguments, is idempotent (a prompt built
// from a redacted record reveals nothing more), and every output argument
// is the input with some spans replaced by the mask: removing the masks
// leaves pieces found, in order, in the input, so a mask never reveals or
// grows what it hides.
func FuzzArgs(f *testing.F) {
	for _, l := range readCorpus(f, "secrets.txt") {
		_, cmd, _ := strings.Cut(l, "\t")
		f.Add(strings.Join(splitWords(f, cmd), "\x00"))
	}
	for _, l := range readCorpus(f, "ordinary.txt")[:20] {
		f.Add(strings.Join(splitWords(f, l), "\x00"))
	}
	f.Add("htpasswd\x00-b\x00--\x00-")
	f.Add("smbclient\x00//\x00-U")
	f.Fuzz(func(t *testing.T, line string) {
		in := strings.Split(line, "\x00")
		keep := slices.Clone(in)
		out := Args(in)
		if !slices.Equal(in, keep) {
			t.Fatalf("input modified")
		}
		if len(out) != len(in) {
			t.Fatalf("%d arguments in, %d out", len(in), len(out))
		}
		for i := range out {
			if !fromInput(out[i], in[i]) {
				t.Fatalf("argument %d: %q is not %q with masked spans", i, out[i], in[i])
			}
		}
		if again := Args(out); !slices.Equal(again, out) {
			t.Fatalf("not idempotent: %q → %q", out, again)
		}
	})
}

// fromInput reports whether out is in with some spans replaced by Mask.
func fromInput(out, in string) bool {
	if !strings.Contains(in, Mask) {
		parts := strings.Split(out, Mask)
		rest := in
		for k, p := range parts {
			j := strings.Index(rest, p)
			if j < 0 || k == 0 && j != 0 {
				return false
			}
			rest = rest[j+len(p):]
		}
		return parts[len(parts)-1] == "" || strings.HasSuffix(in, parts[len(parts)-1])
	}
	return len(strings.ReplaceAll(out, Mask, "")) <= len(in)
}
