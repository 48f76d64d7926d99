// Package redact hides secret values in process command lines before they
// leave the host. The receiver applies it to exported records (command_args:
// redact); the incident processor applies it again to every command line it
// puts in a prompt, whatever the receiver's setting.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces every secret value.
const Mask = "***"

// secretWords are matched against a flag or variable name after lowering
// and dropping '-', '_' and '.', so API_KEY, api-key and apiKey all match.
var secretWords = []string{
	"password", "passwd", "token", "secret", "apikey", "auth",
	"authorization", "credential", "privatekey",
}

// IsSecretName reports whether a flag or variable name looks like it holds
// a secret.
func IsSecretName(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.':
			return -1
		}
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Args returns a copy of args with secret values masked:
//
//	--password=hunter2      → --password=***
//	--token hunter2         → --token ***
//	DB_PASSWORD=hunter2     → DB_PASSWORD=***
//	https://u:pw@host/path  → https://u:***@host/path
//	-Ddb.url=jdbc://u:pw@h  → -Ddb.url=jdbc://u:***@h
//
// args itself is not modified.
func Args(args []string) []string {
	out := make([]string, len(args))
	maskNext := false
	for i, a := range args {
		if maskNext && !strings.HasPrefix(a, "-") {
			out[i] = Mask
			maskNext = false
			continue
		}
		maskNext = false
		out[i] = a
		if name, value, ok := strings.Cut(a, "="); ok {
			switch {
			case IsSecretName(strings.TrimLeft(name, "-")):
				out[i] = name + "=" + Mask
			case strings.Contains(value, "://"):
				out[i] = name + "=" + redactURL(value)
			}
			continue
		}
		if strings.HasPrefix(a, "-") && IsSecretName(strings.TrimLeft(a, "-")) {
			maskNext = true
			continue
		}
		if strings.Contains(a, "://") {
			out[i] = redactURL(a)
		}
	}
	return out
}

// redactURL masks the password of a URL's userinfo; anything that does not
// parse as such a URL is returned unchanged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), Mask)
	return strings.Replace(u.String(), url.QueryEscape(Mask), Mask, 1)
}
