// Package redact hides secret values in process command lines before they
// leave the host. The receiver applies it to exported records (command_args:
// redact); the incident processor applies it again to every command line it
// puts in a prompt, whatever the receiver's setting. Both use the same code
// and the same built-in rules, and masking is idempotent, so a prompt never
// carries more of a command line than the record it came from.
//
// Three kinds of rules apply, in this order:
//
//   - tool rules (rules.go): flags, glued short-flag values and positional
//     operands that carry secrets for a given executable (matched on the
//     base name of argv[0]) and, where it matters, subcommand;
//   - generic rules: values of secret-looking flags, KEY=value arguments,
//     "Authorization: …" headers, URL userinfo passwords, key=value pairs
//     inside an argument (conninfo strings, mount options, query strings);
//   - shapes (shapes.go): tokens whose form gives them away whatever the
//     flag (cloud access keys, GitHub/GitLab/Slack tokens, JWTs, private
//     key blocks, long high-entropy values after '=').
//
// Wrapped commands (sudo, env, timeout, nice, …) get the tool rules of the
// command they run, and the script of sh -c SCRIPT is split into commands
// of shell words, each redacted the same way, with the masked parts replaced
// in place (shell.go).
//
// A Redactor built with New adds user-configured rules on top.
package redact

import (
	"path"
	"slices"
	"strings"
)

// Mask replaces every secret value.
const Mask = "***"

// defaultRedactor holds the built-in rules only.
var defaultRedactor = mustNew(Config{})

// Args returns args with secret values masked by the built-in rules:
//
//	--password=hunter2            → --password=***
//	--token hunter2               → --token ***
//	DB_PASSWORD=hunter2           → DB_PASSWORD=***
//	"Authorization: Bearer x"     → "Authorization: ***"
//	-u user:pw                    → -u user:***
//	https://u:pw@host/path        → https://u:***@host/path
//	mysql -pS3cret                → mysql -p***
//	docker login -p S3cret        → docker login -p ***
//	ghp_… AKIA… eyJ…              → ghp_*** AKIA*** eyJ***
//
// args itself is not modified; when nothing is masked the result is args
// itself, so callers must not modify the result in place.
func Args(args []string) []string { return defaultRedactor.Args(args) }

// Default returns the redactor with the built-in rules only, the one Args
// uses.
func Default() *Redactor { return defaultRedactor }

// Redactor masks secrets in command lines. It is safe for concurrent use.
type Redactor struct {
	tools    map[string][]*toolRule // by argv[0] base name
	patterns []pattern              // user regular expressions
}

// Args returns args with secret values masked. args itself is not
// modified. When nothing is masked, the result is args itself, not a copy:
// callers must not modify the result in place.
func (r *Redactor) Args(args []string) []string {
	if len(args) == 0 {
		if args == nil {
			return []string{}
		}
		return args
	}
	return r.args(args, 0)
}

// args is Args for a command line found at nesting depth (a wrapped
// command, a command of a shell script).
func (r *Redactor) args(args []string, depth int) []string {
	if len(args) == 0 {
		return args
	}
	exe := path.Base(args[0])
	script := -1 // the script of sh -c SCRIPT
	if depth < maxDepth {
		if k := wrappedAt(exe, args); k > 0 {
			return r.wrapped(args, k, depth)
		}
		if isShell(exe) {
			script = scriptIndex(exe, args)
		}
	}
	o := output{in: args}
	o.set(0, maskArg(args[0]))
	rules := r.tools[exe]

	// Positional operands and the start of each rule's scope (after its
	// subcommand) are found first.
	var sbuf [16]int
	starts := sbuf[:0]
	if len(rules) > len(sbuf) {
		starts = make([]int, 0, len(rules))
	}
	var positional map[int]form
	pairs := false // operands are name value pairs (nmcli)
	for _, tr := range rules {
		pairs = pairs || tr.pairs
		from := tr.scope(args)
		starts = append(starts, from)
		if from < 0 || tr.pos == 0 {
			continue
		}
		if i := tr.operandAt(args, from); i > 0 {
			if positional == nil {
				positional = map[int]form{}
			}
			positional[i] = tr.form
		}
	}

	var pending form = formNone // how to mask the argument after a flag
	generic := false            // pending was set by a generic rule
	for i := 1; i < len(args); i++ {
		a := args[i]
		if i == script {
			o.set(i, r.script(a, depth+1))
			pending = formNone
			continue
		}
		if pending != formNone {
			f := pending
			pending = formNone
			// A generic secret flag may have no value ("--token --verbose"),
			// so a long option is taken for the next flag there.
			if !(generic && strings.HasPrefix(a, "--")) {
				o.set(i, apply(f, a))
				continue
			}
		}
		if positional != nil {
			if f, ok := positional[i]; ok {
				o.set(i, apply(f, a))
				continue
			}
		}
		if len(rules) > 0 {
			if done, next, v := matchTool(rules, starts, i, a); done {
				o.set(i, v)
				pending, generic = next, false
				continue
			}
		}
		if pairs && a != "" && a[0] != '-' && isPairSecret(a) {
			pending, generic = formWhole, false
			continue
		}
		var v string
		var strict bool
		v, pending, strict = genericArg(a)
		o.set(i, v)
		generic = !strict
	}
	out := o.result()
	if len(r.patterns) > 0 {
		for i := range out {
			if v := r.applyPatterns(exe, out[i]); v != out[i] {
				if o.out == nil {
					o.out = slices.Clone(args)
					out = o.out
				}
				out[i] = v
			}
		}
	}
	return out
}

// output collects the masked arguments; it copies the input only when an
// argument changes, so a command line without secrets costs no allocation.
type output struct {
	in, out []string
}

func (o *output) set(i int, v string) {
	if o.out == nil {
		if v == o.in[i] { // same string: compares the pointers first
			return
		}
		o.out = make([]string, len(o.in))
		copy(o.out, o.in)
	}
	o.out[i] = v
}

func (o *output) result() []string {
	if o.out == nil {
		return o.in
	}
	return o.out
}

// matchTool applies the flag rules of the tool to argument i. It reports
// whether a rule matched, how to mask the next argument, and argument i
// masked.
func matchTool(rules []*toolRule, starts []int, i int, a string) (bool, form, string) {
	if len(a) < 2 || a[0] != '-' {
		return false, formNone, a
	}
	for k, tr := range rules {
		if starts[k] < 0 || i < starts[k] {
			continue
		}
		for _, fl := range tr.flags {
			if !strings.HasPrefix(a, fl.name) {
				continue
			}
			rest := a[len(fl.name):]
			switch {
			case rest == "":
				if fl.separate {
					return true, fl.form, a
				}
				return true, formNone, a // e.g. mysql -p alone prompts
			case rest[0] == '=' && fl.separate:
				if v := apply(fl.form, rest[1:]); v != rest[1:] {
					return true, formNone, fl.name + "=" + v
				}
				return true, formNone, a
			case fl.glued:
				if v := apply(fl.form, rest); v != rest {
					return true, formNone, fl.name + v
				}
				return true, formNone, a
			}
		}
	}
	return false, formNone, a
}

// genericArg masks one argument by the generic rules and shapes, and
// reports how to mask the next one when a is a secret flag, and whether
// that next argument is its value whatever it looks like (a password flag:
// "--password --x" sets the password "--x").
func genericArg(a string) (string, form, bool) {
	m, sep := maskArgSep(a)
	if len(a) > 1 && a[0] == '-' {
		if !sep {
			if isUserFlag(a) {
				return a, formUserColon, false
			}
			if IsSecretName(a) {
				return a, formWhole, isPasswordName(a)
			}
			if endsInKey(a) {
				return a, formHexKey, false
			}
		} else if a[1] == '-' && (strings.HasPrefix(a, "--user=") || strings.HasPrefix(a, "--proxy-user=")) {
			// --user=alice:SECRET, --proxy-user=alice:SECRET
			name, v, _ := strings.Cut(a, "=")
			if u := apply(formUserColon, v); u != v {
				return name + "=" + u, formNone, false
			}
		}
	}
	return m, formNone, false
}

// isPasswordName reports whether a secret name is a password's.
func isPasswordName(a string) bool {
	l := strings.ToLower(a)
	return strings.Contains(l, "pass") || strings.Contains(l, "pwd")
}

// endsInKey reports whether a name ends in "key" (any case): a long hex
// value of it is a key (--app-key, APP_KEY=).
func endsInKey(name string) bool {
	n := len(name)
	return n >= 3 && name[n-3]|0x20 == 'k' && name[n-2]|0x20 == 'e' && name[n-1]|0x20 == 'y'
}

// minHexKey is the length from which a hex value of a key is masked.
const minHexKey = 32

// isHexKey reports whether v is a long string of hex digits.
func isHexKey(v string) bool {
	if len(v) < minHexKey {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i] | 0x20
		if !('0' <= v[i] && v[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isUserFlag reports whether flag a takes "user:password" (curl -u, --user).
func isUserFlag(a string) bool {
	return a == "-u" || a == "--user" || a == "--proxy-user"
}

// form says where in a value the secret sits.
type form uint8

const (
	formNone      form = iota
	formWhole          // the whole value
	formUserColon      // user:SECRET (curl -u); no ':' means no secret
	formUserComma      // user,SECRET (lftp -u)
	formHexKey         // the whole value when it is a long hex key
	formCookie         // the whole value when it holds '=' (curl -b; else a file)
	formUserPct        // user%SECRET (smbclient -U)
	formPassSpec       // pass:SECRET (openssl); env:, file:, fd:, stdin are kept
	formPair           // positional: masked when the operand before is a secret name
	formToken          // the whole value, unless it is KEY=value (vault login)
)

var formNames = map[string]form{
	"":          formWhole,
	"whole":     formWhole,
	"user:pass": formUserColon,
	"user,pass": formUserComma,
	"cookie":    formCookie,
	"user%pass": formUserPct,
	"pass:":     formPassSpec,
	"pair":      formPair,
	"token":     formToken,
}

// apply masks value v of form f.
func apply(f form, v string) string {
	if f == formToken && strings.Contains(v, "=") {
		return maskArg(v)
	}
	switch f {
	case formWhole, formPair, formToken:
		if v == "" || v == Mask {
			return v
		}
		return Mask
	case formUserColon:
		if strings.Contains(v, "://") {
			return maskArg(v)
		}
		if user, pw, ok := strings.Cut(v, ":"); ok && pw != "" && !allDigits(pw) {
			return user + ":" + Mask
		}
	case formUserComma:
		if user, pw, ok := strings.Cut(v, ","); ok && pw != "" && pw != Mask {
			return user + "," + Mask
		}
	case formHexKey:
		if isHexKey(v) {
			return Mask
		}
	case formCookie:
		if strings.Contains(v, "=") {
			return Mask
		}
	case formUserPct:
		if user, pw, ok := strings.Cut(v, "%"); ok && pw != "" {
			return user + "%" + Mask
		}
	case formPassSpec:
		scheme, _, ok := strings.Cut(v, ":")
		switch {
		case ok && (scheme == "env" || scheme == "file" || scheme == "fd"):
			return v
		case v == "stdin" || v == "":
			return v
		case ok && scheme == "pass":
			return "pass:" + Mask
		}
		return Mask
	}
	return maskArg(v)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// secretWords are matched against a flag, variable or header name after
// lowering and dropping '-', '_' and '.', so API_KEY, api-key and apiKey
// all match.
var secretWords = []string{
	"password", "passwd", "passphrase", "token", "secret", "apikey", "auth",
	"credential", "creds", "privatekey", "bearer", "cookie", "sessionid", "sessid",
	"sessionkey", "encryptionkey", "signingkey", "masterkey", "subscriptionkey", "hmac",
}

// secretSuffixes match at the end of a name only: DB_PASS, MYSQL_PWD.
var secretSuffixes = []string{"pass", "pwd"}

// benignParts make a name that contains a secret word an ordinary one.
var benignParts = []string{"tokeniz", "maxtoken", "numtoken", "bypass", "compass", "authority",
	"authenticationdatabase", "authsource", "authmechanism", "authdb", "xdgsession"}

// benignSuffixes name a place or a setting, not a value: --token-file,
// --authorization-mode, --auth-type.
var benignSuffixes = []string{
	"file", "path", "dir", "mode", "type", "method", "ttl", "url", "uri",
	"endpoint", "enabled", "timeout", "length", "provider", "plugin", "name",
	"id", "ref", "policy", "version", "format", "expiry", "expiration",
	"domain", "secure", "expire", "samesite", "httponly", "jar", "flags", "algorithm",
}

// IsSecretName reports whether a flag, variable or header name looks like it
// holds a secret.
func IsSecretName(name string) bool {
	// Lower the name and drop separators, one table look-up a byte.
	var buf [64]byte
	s := buf[:]
	if len(name) > len(buf) {
		s = make([]byte, len(name))
	}
	n := 0
	for i := 0; i < len(name); i++ {
		t := nameBytes[name[i]]
		s[n] = byte(t)
		n += int(t >> 8)
	}
	return isSecretWord(s[:n])
}

// secretKeyBefore returns where the key that ends at i begins (keyStart)
// and whether it is a secret name (IsSecretName), in one backward pass.
func secretKeyBefore(s string, i int) (int, bool) {
	var buf [64]byte
	p := len(buf)
	j := i
	for j > 0 && class[s[j-1]]&clsKey != 0 {
		if p == 0 { // a long key: rare
			ks := keyStart(s, j)
			return ks, IsSecretName(s[ks:i])
		}
		t := nameBytes[s[j-1]]
		buf[p-1] = byte(t)
		p -= int(t >> 8)
		j--
	}
	return j, isSecretWord(buf[p:])
}

// isSecretWord is IsSecretName for a name already lowered, without
// separators.
func isSecretWord(s []byte) bool {
	n := len(s)
	found := string(s) == "pw"
	// Every secret word is at least 4 bytes long and starts with one of a
	// few pairs of letters (wordsByPair): other positions cost one look-up.
	for i := 0; i+4 <= len(s) && !found; i++ {
		a, b := uint(s[i]-'a'), uint(s[i+1]-'a')
		if a >= 26 || b >= 26 || pairIndex[a*26+b] == 0 {
			continue
		}
		for _, w := range wordsByPair[pairIndex[a*26+b]] {
			if !hasPrefix(s[i:], w) {
				continue
			}
			// git --author is not auth, nor sshd's AuthorizedKeysCommand;
			// authorization is.
			if w == "auth" && hasPrefix(s[i+4:], "or") &&
				(!hasPrefix(s[i+4:], "oriz") || hasPrefix(s[i+4:], "orized")) {
				continue
			}
			found = true
			break
		}
	}
	for _, w := range secretSuffixes {
		found = found || n >= len(w) && s[n-1] == w[len(w)-1] && string(s[n-len(w):]) == w
	}
	if !found {
		return false
	}
	str := string(s) // a secret name: rare, the copy does not matter
	// A session id is a secret, though other ids are not.
	sessionID := strings.HasSuffix(str, "sessionid") || strings.HasSuffix(str, "sessid")
	for _, b := range benignSuffixes {
		if strings.HasSuffix(str, b) && !sessionID {
			return false
		}
	}
	for _, b := range benignParts {
		if strings.Contains(str, b) {
			return false
		}
	}
	return true
}

// hasPrefix is strings.HasPrefix for a byte slice, without a copy.
func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// wordsByPair[pairIndex[(c1-'a')*26+c2-'a']] are the secret words that
// start with the letters c1 c2; index 0 holds none.
var pairIndex, wordsByPair = func() (idx [26 * 26]uint8, words [][]string) {
	words = [][]string{nil}
	for _, w := range secretWords {
		k := int(w[0]-'a')*26 + int(w[1]-'a')
		if idx[k] == 0 {
			idx[k] = uint8(len(words))
			words = append(words, nil)
		}
		words[idx[k]] = append(words[idx[k]], w)
	}
	return idx, words
}()

// nameBytes maps a byte of a name to its lower case (low byte) and 1<<8
// when it is kept: '-', '_' and '.' are dropped.
var nameBytes = func() (t [256]uint16) {
	for c := range t {
		b := byte(c)
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		t[c] = 1<<8 | uint16(b)
	}
	t['-'], t['_'], t['.'] = 0, 0, 0
	return t
}()
