// Package redact hides secret values in process command lines before they
// leave the host. The receiver applies it to exported records (command_args:
// redact); the incident processor applies it again to every command line it
// puts in a prompt, whatever the receiver's setting.
package redact

import (
	"regexp"
	"strings"
)

// Mask replaces every secret value.
const Mask = "***"

// secretWords are matched against a flag, variable or header name after
// lowering and dropping '-', '_' and '.', so API_KEY, api-key and apiKey
// all match.
var secretWords = []string{
	"password", "passwd", "token", "secret", "apikey", "auth",
	"authorization", "credential", "privatekey",
}

// userFlags take "user:password" (curl -u, --user).
var userFlags = map[string]bool{"-u": true, "--user": true, "--proxy-user": true}

// urlUserinfo finds the password of scheme://user:password@ anywhere in an
// argument, also inside jdbc:… URLs and values that do not parse as URLs.
var urlUserinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]*:)[^@/\s]+@`)

// IsSecretName reports whether a flag, variable or header name looks like it
// holds a secret.
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
//	--password=hunter2            → --password=***
//	--token hunter2               → --token ***
//	DB_PASSWORD=hunter2           → DB_PASSWORD=***
//	"Authorization: Bearer x"     → "Authorization: ***"
//	-u user:pw                    → -u user:***
//	https://u:pw@host/path        → https://u:***@host/path
//	-Ddb.url=jdbc:pg://u:pw@h     → -Ddb.url=jdbc:pg://u:***@h
//
// args itself is not modified.
func Args(args []string) []string {
	out := make([]string, len(args))
	var next func(string) string // how to mask the argument after a flag
	for i, a := range args {
		if next != nil {
			out[i], next = next(a), nil
			continue
		}
		out[i] = maskURLs(a)
		if name, _, ok := strings.Cut(a, "="); ok && !strings.Contains(name, " ") {
			if IsSecretName(strings.TrimLeft(name, "-")) {
				out[i] = name + "=" + Mask
			}
			continue
		}
		if name, _, ok := strings.Cut(a, ":"); ok && !strings.ContainsAny(name, " /") && IsSecretName(name) {
			out[i] = name + ": " + Mask // a header: "Authorization: Bearer …"
			continue
		}
		switch {
		case userFlags[a]:
			next = func(v string) string {
				if user, _, ok := strings.Cut(v, ":"); ok {
					return user + ":" + Mask
				}
				return v
			}
		case strings.HasPrefix(a, "-") && IsSecretName(strings.TrimLeft(a, "-")):
			// The value may itself start with '-'; only a long option
			// is taken for the next flag.
			next = func(v string) string {
				if strings.HasPrefix(v, "--") {
					return maskURLs(v)
				}
				return Mask
			}
		}
	}
	return out
}

func maskURLs(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlUserinfo.ReplaceAllString(s, "${1}"+Mask+"@")
}
