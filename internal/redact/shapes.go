package redact

import (
	"math"
	"strings"
)

// maskArg masks the secrets one argument holds by itself, whatever the
// tool: KEY=value with a secret key (whole argument or embedded in a
// conninfo string, mount options or a query string), "Name: value" headers
// with a secret name, "key": "value" JSON members, URL userinfo passwords,
// openssl pass: specifiers, private key blocks and tokens of a known shape.
// It scans the argument once and allocates only when it masks something;
// bytes that neither end a key ('=', ':') nor start a shape cost one table
// look-up.
func maskArg(s string) string {
	m, _ := maskArgSep(s)
	return m
}

// maskArgSep is maskArg that also reports whether s holds '=', ':' or a
// space, found on the same pass.
func maskArgSep(s string) (masked string, sep bool) {
	var spans [4][2]int
	masks := spans[:0]
	skipped := false // a span was jumped over: sep is looked for again
	for i := 0; i < len(s); i++ {
		c := s[i]
		k := class[c]
		if k&(clsShape|clsFlagEnd) == 0 {
			continue
		}
		sep = sep || k&clsFlagEnd != 0
		if k&clsShape != 0 && len(s)-i >= int(shapeMin[c]) && shapeSecond[c]>>(s[i+1]&63)&1 != 0 &&
			(i == 0 || class[s[i-1]]&clsToken == 0) {
			if end, keep := shapeAt(s, i); end > 0 {
				if i+keep < end {
					masks = append(masks, [2]int{i + keep, end})
				}
				i, skipped = end-1, true
				continue
			}
		}
		switch c {
		case '=':
			ks, secret := secretKeyBefore(s, i)
			end := valueEnd(s, i+1, ks == 0 || s[ks-1] == '-')
			v := s[i+1 : end]
			if v == "" {
				continue
			}
			if secret && !benignValue(v) || len(v) >= minEntropyLen && highEntropy(v) ||
				len(v) >= minHexKey && endsInKey(s[ks:i]) && isHexKey(v) {
				if v != Mask {
					masks = append(masks, [2]int{i + 1, end})
				}
				i, skipped = end-1, true
			}
		case ':':
			if strings.HasPrefix(s[i:], "://") {
				if a, b := userinfoPassword(s, i+3); a < b {
					masks = append(masks, [2]int{a, b})
					i, skipped = b-1, true
				} else if a > 0 { // masked already: the userinfo is skipped as when masking
					i, skipped = b-1, true
				}
				continue
			}
			quoted := i > 0 && s[i-1] == '"'
			var ks int
			var secret bool
			if quoted {
				ks = strings.LastIndexByte(s[:i-1], '"') + 1
				if ks == 0 {
					continue
				}
				secret = ks < i-1 && IsSecretName(s[ks:i-1])
			} else {
				ks, secret = secretKeyBefore(s, i)
				if ks > 0 && s[ks-1] == '/' {
					continue // registry/secret:tag
				}
			}
			if !secret {
				continue
			}
			a := i + 1
			for a < len(s) && s[a] == ' ' {
				a++
			}
			end := len(s)
			if quoted || ks > 0 && (s[ks-1] == '"' || s[ks-1] == '\'') {
				// "password": "x" or -H "Authorization: x" inside a script.
				if a < len(s) && s[a] == '"' {
					a++
				}
				if j := indexClass(s[a:], clsQuote); j >= 0 {
					end = a + j
				}
			}
			if a < end && s[a:end] != Mask {
				masks = append(masks, [2]int{a, end})
			}
			i, skipped = end-1, true
		}
	}
	if skipped {
		sep = hasClass(s, clsFlagEnd)
	}
	if len(masks) == 0 {
		return s, sep
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range masks {
		b.WriteString(s[last:m[0]])
		b.WriteString(Mask)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String(), sep
}

// Byte classes, as bits of class[c].
const (
	clsToken   = 1 << iota // a word or token byte: [A-Za-z0-9_]
	clsKey                 // a key byte: a token byte, '-' or '.'
	clsKeyEnd              // '=' or ':', which end a key
	clsShape               // the first byte of a shape (prefixShapes, PEM)
	clsFlagEnd             // '=', ' ' or ':': a flag with a value or no flag
	clsListEnd             // ends a value in a list: , ; space tab newline & " '
	clsAuthEnd             // ends a URL authority: / ? # space tab newline " '
	clsQuote               // " or '
)

// class holds the byte classes; shapeMin the length of the shortest shape
// that starts with a byte, so that shorter tails are not looked at, and
// shapeSecond[c] has bit b&63 set when a shape starts with c then b.
var class, shapeMin, shapeSecond = func() (t [256]uint8, m [256]uint8, second [256]uint64) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' {
			t[c] |= clsToken | clsKey
		}
	}
	set := func(bit uint8, bytes string) {
		for i := 0; i < len(bytes); i++ {
			t[bytes[i]] |= bit
		}
	}
	set(clsKey, "-.")
	set(clsKeyEnd, "=:")
	set(clsFlagEnd, "= :")
	set(clsListEnd, ",; \t\n&\"'")
	set(clsAuthEnd, "/?# \t\n\"'")
	set(clsQuote, "\"'")
	for c, shapes := range prefixShapes {
		for _, p := range shapes {
			n := len(p.prefix) + p.min
			if n > 255 {
				n = 255
			}
			if m[c] == 0 || int(m[c]) > n {
				m[c] = uint8(n)
			}
			t[c] |= clsShape
			second[c] |= 1 << (p.prefix[1] & 63)
		}
	}
	t['-'] |= clsShape
	m['-'] = uint8(len(pemBegin) + len("PRIVATE KEY-----"))
	second['-'] |= 1 << (pemBegin[1] & 63)
	return t, m, second
}()

// isTokenByte reports whether c can be part of a word or a token.
func isTokenByte(c byte) bool { return class[c]&clsToken != 0 }

func isKeyByte(c byte) bool { return class[c]&clsKey != 0 }

// hasClass reports whether s holds a byte of class bit.
func hasClass(s string, bit uint8) bool { return indexClass(s, bit) >= 0 }

// indexClass returns the index of the first byte of s of class bit, or -1.
func indexClass(s string, bit uint8) int {
	for i := 0; i < len(s); i++ {
		if class[s[i]]&bit != 0 {
			return i
		}
	}
	return -1
}

// keyStart returns where the key that ends at i begins.
func keyStart(s string, i int) int {
	for i > 0 && isKeyByte(s[i-1]) {
		i--
	}
	return i
}

// valueEnd returns where a value that starts at i ends: at the end of the
// argument for a whole-argument KEY=value or --flag=value, else at the next
// separator of a list (a,b=c;d e&f).
func valueEnd(s string, i int, whole bool) int {
	if whole {
		return len(s)
	}
	if i < len(s) && (s[i] == '\'' || s[i] == '"') {
		if j := strings.IndexByte(s[i+1:], s[i]); j >= 0 {
			return i + 1 + j + 1
		}
		return len(s)
	}
	if j := indexClass(s[i:], clsListEnd); j >= 0 {
		return i + j
	}
	return len(s)
}

// benignValue is a value no secret has: a boolean, a number of seconds.
func benignValue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "none", "null", "0", "1":
		return true
	}
	return false
}

// userinfoPassword returns the span of the password in the authority that
// starts at i (just after "://"): the authority ends at the first '/', '?',
// '#' or space, the userinfo at its last '@', the user at the first ':'.
// A password may hold '/', '?' or '#' unencoded (postgres://u:a/b@host/db):
// see wideUserinfo. A user alone is masked when it has a token's shape
// (https://TOKEN@host).
func userinfoPassword(s string, i int) (int, int) {
	end := len(s)
	if j := indexClass(s[i:], clsAuthEnd); j >= 0 {
		end = i + j
	}
	at := strings.LastIndexByte(s[i:end], '@')
	if at < 0 {
		if at = wideUserinfo(s, i, end); at < 0 {
			return 0, 0
		}
	} else {
		at += i
	}
	if c := strings.IndexByte(s[i:at], ':'); c >= 0 {
		if s[i+c+1:at] == Mask {
			return at, at
		}
		return i + c + 1, at
	}
	if highEntropy(s[i:at]) {
		return i, at
	}
	return 0, 0
}

// wideUserinfo returns where the userinfo of a URL ends when its password
// holds '/', '?' or '#' (the authority s[i:end] has no '@'), or -1: the
// authority must be user:x with x not a port, and an '@' must follow before
// a space or quote; the userinfo then runs to the last '@' before the host,
// the first '@' followed by a host without one.
func wideUserinfo(s string, i, end int) int {
	if end == len(s) || s[end] != '/' && s[end] != '?' && s[end] != '#' {
		return -1
	}
	c := strings.IndexByte(s[i:end], ':')
	if c < 0 || allDigits(s[i+c+1:end]) {
		return -1
	}
	we := len(s)
	for j := end; j < len(s); j++ {
		if b := s[j]; b == ' ' || b == '\t' || b == '\n' || b == '"' || b == '\'' {
			we = j
			break
		}
	}
	for p := end; ; {
		j := strings.IndexByte(s[p:we], '@')
		if j < 0 {
			return -1
		}
		at := p + j
		h := at + 1
		for h < we && s[h] != '/' && s[h] != '?' && s[h] != '#' && s[h] != '@' {
			h++
		}
		if h == we || s[h] != '@' {
			return at
		}
		p = at + 1
	}
}

// prefixShape is a token recognised by its prefix, then at least min
// characters from the token alphabet.
type prefixShape struct {
	prefix string
	min    int
	mixed  bool // the body must mix upper case, lower case and digits
	dot    bool // '.' belongs to the alphabet (JWT)
}

// prefixShapes by first byte.
var prefixShapes = [256][]prefixShape{
	'A': {
		{prefix: "AKIA", min: 16}, {prefix: "ASIA", min: 16}, // AWS access keys
		{prefix: "AIza", min: 35}, // Google API key
	},
	'g': {
		{prefix: "ghp_", min: 30}, {prefix: "gho_", min: 30}, {prefix: "ghs_", min: 30},
		{prefix: "ghu_", min: 30}, {prefix: "ghr_", min: 30}, {prefix: "github_pat_", min: 30},
		{prefix: "glpat-", min: 20}, {prefix: "gldt-", min: 20}, {prefix: "glptt-", min: 20},
	},
	'x': {
		{prefix: "xoxb-", min: 10}, {prefix: "xoxa-", min: 10}, {prefix: "xoxp-", min: 10},
		{prefix: "xoxr-", min: 10}, {prefix: "xoxs-", min: 10}, {prefix: "xapp-", min: 10},
	},
	's': {
		{prefix: "sk_live_", min: 16}, {prefix: "sk_test_", min: 16},
		{prefix: "sk-", min: 20, mixed: true}, // OpenAI, Anthropic, …
	},
	'r': {{prefix: "rk_live_", min: 16}, {prefix: "rk_test_", min: 16}},
	'e': {{prefix: "eyJ", min: 20, dot: true}}, // JWT, checked for three segments
	'h': {
		{prefix: "hvs.", min: 20}, {prefix: "hvb.", min: 20}, {prefix: "hvr.", min: 20}, // Vault
		{prefix: "hf_", min: 30, mixed: true}, // Hugging Face
	},
	'n': {{prefix: "npm_", min: 36}},
	'p': {{prefix: "pypi-", min: 50}, {prefix: "pass:", min: 1}}, // pass: is openssl's
}

const pemBegin = "-----BEGIN "

// shapeAt reports whether a token of a known shape starts at i; end is
// where the masked part ends, keep how many bytes of its prefix stay.
func shapeAt(s string, i int) (end, keep int) {
	c := s[i]
	if c == '-' {
		return pemAt(s, i)
	}
	for _, p := range prefixShapes[c] {
		if !strings.HasPrefix(s[i:], p.prefix) {
			continue
		}
		j := i + len(p.prefix)
		if p.prefix == "pass:" {
			// openssl: the password runs to the end of the argument.
			if s[j:] == Mask || j == len(s) {
				return 0, 0
			}
			return len(s), len(p.prefix)
		}
		var upper, lower, digit bool
		dots := 0
		for j < len(s) {
			b := s[j]
			switch {
			case 'A' <= b && b <= 'Z':
				upper = true
			case 'a' <= b && b <= 'z':
				lower = true
			case '0' <= b && b <= '9':
				digit = true
			case b == '_' || b == '-':
			case b == '.' && p.dot:
				dots++
			case b == '=' && p.dot: // base64 padding
			default:
				goto done
			}
			j++
		}
	done:
		if j-i-len(p.prefix) < p.min || p.mixed && !(upper && lower && digit) || p.dot && dots != 2 {
			continue
		}
		return j, len(p.prefix)
	}
	return 0, 0
}

// pemAt masks the body of a private key block: the header stays.
func pemAt(s string, i int) (end, keep int) {
	if !strings.HasPrefix(s[i:], pemBegin) {
		return 0, 0
	}
	h := strings.Index(s[i+len(pemBegin):], "-----")
	if h < 0 {
		return 0, 0
	}
	headerEnd := i + len(pemBegin) + h + 5
	if !strings.Contains(s[i:headerEnd], "PRIVATE KEY") {
		return 0, 0
	}
	end = len(s)
	if e := strings.Index(s[headerEnd:], "-----END"); e >= 0 {
		end = headerEnd + e
	}
	if strings.TrimSpace(s[headerEnd:end]) == Mask || strings.TrimSpace(s[headerEnd:end]) == "" {
		return end, end - i
	}
	return end, headerEnd - i
}

// Entropy bounds for values after '=' that no name marks as secret: at
// least minEntropyLen bytes from the base64 alphabet, upper and lower case
// letters and digits all present, and at least minEntropyBits bits per
// byte. Hex digests, UUIDs, versions, paths and words fail one test.
const (
	minEntropyLen  = 24
	minEntropyBits = 4.0
)

func highEntropy(v string) bool {
	if len(v) < minEntropyLen || len(v) > 4096 {
		return false
	}
	var counts [128]uint16
	var upper, lower, digit bool
	slashes := 0
	for i := 0; i < len(v); i++ {
		b := v[i]
		switch {
		case 'A' <= b && b <= 'Z':
			upper = true
		case 'a' <= b && b <= 'z':
			lower = true
		case '0' <= b && b <= '9':
			digit = true
		case b == '+' || b == '_' || b == '-':
		case b == '/':
			slashes++
		case b == '=' && i >= len(v)-2: // padding
		default:
			return false
		}
		counts[b]++
	}
	if !upper || !lower || !digit || slashes > 2 || v[0] == '/' {
		return false
	}
	h := 0.0
	n := float64(len(v))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h >= minEntropyBits
}
