package redact

import (
	"sort"
	"strings"
)

// maxDepth bounds the nesting of wrappers and shell scripts looked into
// (sudo sh -c "env X=1 bash -c '…'"); deeper levels get the generic rules.
const maxDepth = 4

// wrappedAt returns the index of the command a wrapper runs (sudo mysql …,
// env VAR=x mysql …, timeout 30 mysql …), or 0 when exe is not a wrapper or
// runs nothing.
func wrappedAt(exe string, args []string) int {
	var takes func(string) bool // options that take the next argument
	assignments, operand := false, false
	switch exe {
	case "env":
		takes = func(a string) bool { return a == "-u" || a == "-C" || a == "--unset" || a == "--chdir" }
		assignments = true
	case "sudo":
		takes = func(a string) bool {
			switch a {
			case "-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R",
				"--user", "--group", "--close-from", "--chdir", "--host", "--prompt", "--role", "--type", "--other-user", "--command-timeout", "--chroot":
				return true
			}
			return false
		}
		assignments = true
	case "doas":
		takes = func(a string) bool { return a == "-u" || a == "-C" }
	case "timeout":
		takes = func(a string) bool { return a == "-s" || a == "-k" || a == "--signal" || a == "--kill-after" }
		operand = true // the duration
	case "nice":
		takes = func(a string) bool { return a == "-n" || a == "--adjustment" }
	case "nohup", "setsid", "time", "exec", "stdbuf", "chrt", "ionice", "taskset":
		takes = func(string) bool { return false }
		switch exe {
		case "ionice":
			takes = func(a string) bool { return a == "-c" || a == "-n" || a == "-p" || a == "-P" || a == "-u" }
		case "chrt", "taskset":
			operand = true // the priority or the CPU mask
		case "stdbuf":
			takes = func(a string) bool { return a == "-i" || a == "-o" || a == "-e" }
		}
	default:
		return 0
	}
	i := 1
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			i++
			if operand && i < len(args) {
				i++
			}
			goto found
		case len(a) > 1 && a[0] == '-':
			if takes(a) {
				i++
			}
		case assignments && isAssignment(a):
		case operand:
			operand = false
		default:
			goto found
		}
		i++
	}
found:
	if i >= len(args) {
		return 0
	}
	return i
}

// isAssignment reports whether a is NAME=value with a shell variable name.
func isAssignment(a string) bool {
	eq := strings.IndexByte(a, '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		c := a[i]
		if !isTokenByte(c) || i == 0 && '0' <= c && c <= '9' {
			return false
		}
	}
	return true
}

// wrapped masks a wrapper's own arguments (args[:k]) and the command it
// runs (args[k:]) each by its own rules.
func (r *Redactor) wrapped(args []string, k, depth int) []string {
	head := r.args(args[:k], depth+1)
	tail := r.args(args[k:], depth+1)
	if sameSlice(head, args[:k]) && sameSlice(tail, args[k:]) {
		return args
	}
	out := make([]string, 0, len(args))
	out = append(out, head...)
	return append(out, tail...)
}

// sameSlice reports whether a is b (the same backing array and length).
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// isShell reports whether exe runs a script given with -c.
func isShell(exe string) bool {
	switch exe {
	case "sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "busybox", "su", "runuser":
		return true
	}
	return false
}

// scriptIndex returns the index of the script of sh -c SCRIPT (also -lc,
// -ec, -xc, su … -c SCRIPT), or -1.
func scriptIndex(exe string, args []string) int {
	if exe == "su" || exe == "runuser" {
		for i := 1; i+1 < len(args); i++ {
			if args[i] == "-c" || args[i] == "--command" {
				return i + 1
			}
		}
		return -1
	}
	start := 1
	if exe == "busybox" {
		if len(args) < 2 || (args[1] != "sh" && args[1] != "ash") {
			return -1
		}
		start = 2
	}
	seen := false
	for i := start; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" || a == "-":
			if seen && i+1 < len(args) {
				return i + 1
			}
			return -1
		case len(a) > 1 && a[0] == '-' && a[1] == '-':
			if a == "--rcfile" || a == "--init-file" {
				i++
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			if strings.IndexByte(a[1:], 'c') >= 0 {
				seen = true
			}
			if strings.IndexByte(a[1:], 'o') >= 0 || strings.IndexByte(a[1:], 'O') >= 0 {
				i++ // -o pipefail
			}
		default:
			if seen {
				return i
			}
			return -1
		}
	}
	return -1
}

// reservedWords start a command without being its executable.
var reservedWords = map[string]bool{
	"!": true, "{": true, "}": true, "if": true, "then": true, "else": true, "elif": true,
	"do": true, "while": true, "until": true, "time": true, "command": true, "builtin": true,
}

// shellWord is one word of a script: its value (quotes and backslashes
// removed) and, for each byte of the value, where it comes from.
type shellWord struct {
	val        []byte
	start, end []int // source span of each value byte
}

// quoted is a quoted section of a script: the positions of its quotes
// (close is len(script) when unclosed).
type quoted struct{ open, close int }

// tokenizeScript splits a script into commands of words: quotes and
// backslashes are honoured, nothing is expanded; ; & && || | ( ) ` and
// newlines separate commands.
func tokenizeScript(s string) (cmds [][]shellWord, sections []quoted) {
	var cmd []shellWord
	var w shellWord
	active := false
	add := func(c byte, a, b int) {
		w.val = append(w.val, c)
		w.start = append(w.start, a)
		w.end = append(w.end, b)
		active = true
	}
	endWord := func() {
		if active {
			cmd = append(cmd, w)
		}
		w, active = shellWord{}, false
	}
	endCmd := func() {
		endWord()
		if len(cmd) > 0 {
			cmds = append(cmds, cmd)
		}
		cmd = nil
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case ' ', '\t', '\r':
			endWord()
			i++
		case '&':
			if i > 0 && (s[i-1] == '>' || s[i-1] == '<') || i+1 < len(s) && s[i+1] == '>' {
				add(c, i, i+1) // 2>&1, &>file
				i++
				continue
			}
			endCmd()
			i++
		case '\n', ';', '|', '(', ')', '`':
			endCmd()
			i++
		case '\\':
			switch {
			case i+1 == len(s):
				add(c, i, i+1)
				i++
			case s[i+1] == '\n':
				i += 2
			default:
				add(s[i+1], i, i+2)
				i += 2
			}
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			end := len(s)
			if j >= 0 {
				end = i + 1 + j
			}
			sections = append(sections, quoted{i, end})
			active = true
			for k := i + 1; k < end; k++ {
				add(s[k], k, k+1)
			}
			i = end + 1
		case '"':
			k := i + 1
			for k < len(s) && s[k] != '"' {
				if s[k] == '\\' && k+1 < len(s) && strings.IndexByte("$`\"\\\n", s[k+1]) >= 0 {
					if s[k+1] != '\n' {
						add(s[k+1], k, k+2)
					}
					k += 2
					continue
				}
				add(s[k], k, k+1)
				k++
			}
			if k > len(s) {
				k = len(s)
			}
			sections = append(sections, quoted{i, k})
			active = true
			i = k + 1
		default:
			add(c, i, i+1)
			i++
		}
	}
	endCmd()
	return cmds, sections
}

// script masks the secrets of a shell script: each command is redacted as
// a command line of its own, and the masked parts of its words are
// replaced in place, so the rest of the script is kept as written.
func (r *Redactor) script(s string, depth int) string {
	cmds, sections := tokenizeScript(s)
	var spans [][2]int
	for _, cmd := range cmds {
		words := make([]string, len(cmd))
		for i, w := range cmd {
			words[i] = string(w.val)
		}
		out := r.command(words, depth)
		if sameSlice(out, words) {
			continue
		}
		for i, w := range cmd {
			if out[i] == words[i] {
				continue
			}
			for _, g := range maskedGaps(words[i], out[i]) {
				a, b := w.start[g[0]], w.end[g[1]-1]
				spans = append(spans, quoteSafe(a, b, len(s), sections))
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for k := 0; k < len(spans); k++ {
		a, e := spans[k][0], spans[k][1]
		for k+1 < len(spans) && spans[k+1][0] <= e { // overlapping spans: one mask
			e = max(e, spans[k+1][1])
			k++
		}
		b.WriteString(s[last:a])
		b.WriteString(Mask)
		last = e
	}
	b.WriteString(s[last:])
	return b.String()
}

// command redacts one command of a script: leading assignments and
// reserved words are masked by the generic rules, the command by its own.
func (r *Redactor) command(words []string, depth int) []string {
	k := 0
	for k < len(words) && (reservedWords[words[k]] || isAssignment(words[k])) {
		k++
	}
	if k == 0 {
		return r.args(words, depth)
	}
	var out []string
	for i := 0; i < k; i++ {
		if v := maskArg(words[i]); v != words[i] {
			if out == nil {
				out = append([]string(nil), words...)
			}
			out[i] = v
		}
	}
	if k < len(words) {
		if tail := r.args(words[k:], depth); !sameSlice(tail, words[k:]) {
			if out == nil {
				out = append([]string(nil), words...)
			}
			copy(out[k:], tail)
		}
	}
	if out == nil {
		return words
	}
	return out
}

// maskedGaps returns the spans of in that out replaces by the mask (out is
// in with some spans replaced, as every rule masks).
func maskedGaps(in, out string) [][2]int {
	whole := [][2]int{{0, len(in)}}
	if in == "" {
		return nil
	}
	parts := strings.Split(out, Mask)
	last := parts[len(parts)-1]
	if len(parts) == 1 || !strings.HasPrefix(in, parts[0]) || !strings.HasSuffix(in, last) ||
		len(in)-len(last) < len(parts[0]) {
		return whole
	}
	pos, limit := len(parts[0]), len(in)-len(last)
	var gaps [][2]int
	gap := pos
	for _, p := range parts[1 : len(parts)-1] {
		j := strings.Index(in[pos:limit], p)
		if j < 0 {
			return whole
		}
		if gap < pos+j {
			gaps = append(gaps, [2]int{gap, pos + j})
		}
		pos += j + len(p)
		gap = pos
	}
	if gap < limit {
		gaps = append(gaps, [2]int{gap, limit})
	}
	return gaps
}

// quoteSafe widens the span [a, b) of a script so that it does not end
// inside a quoted section it does not start in: replacing it then leaves
// the quotes balanced.
func quoteSafe(a, b, n int, sections []quoted) [2]int {
	in := func(p int) int {
		for k, q := range sections {
			if q.open < p && p <= q.close {
				return k
			}
		}
		return -1
	}
	sa, sb := in(a), in(b)
	if sa == sb {
		return [2]int{a, b}
	}
	if sa >= 0 {
		a = sections[sa].open
	}
	if sb >= 0 {
		b = min(sections[sb].close+1, n)
	}
	return [2]int{a, b}
}
