package redact

import (
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	cases := []struct {
		in, want []string
	}{
		{[]string{"app", "--password=hunter2"}, []string{"app", "--password=***"}},
		{[]string{"app", "--token", "abc", "--verbose"}, []string{"app", "--token", "***", "--verbose"}},
		{[]string{"env", "DB_PASSWORD=x", "API_KEY=y", "HOME=/root"}, []string{"env", "DB_PASSWORD=***", "API_KEY=***", "HOME=/root"}},
		{[]string{"curl", "-H", "Authorization=Bearer z"}, []string{"curl", "-H", "Authorization=***"}},
		{[]string{"psql", "postgres://app:s3cret@db:5432/x"}, []string{"psql", "postgres://app:***@db:5432/x"}},
		{[]string{"git", "clone", "https://github.com/a/b"}, []string{"git", "clone", "https://github.com/a/b"}},
		{[]string{"java", "-Ddb.url=postgres://app:pw@db/x", "--uri=redis://h:6379"}, []string{"java", "-Ddb.url=postgres://app:***@db/x", "--uri=redis://h:6379"}},
		{[]string{"java", "-Ddb.url=jdbc:postgresql://u:pw@h/db"}, []string{"java", "-Ddb.url=jdbc:postgresql://u:***@h/db"}},
		{[]string{"psql", "postgres://u:p%zz@h/x"}, []string{"psql", "postgres://u:***@h/x"}},
		{[]string{"curl", "-H", "Authorization: Bearer sk-123", "-H", "Accept: text/plain"}, []string{"curl", "-H", "Authorization: ***", "-H", "Accept: text/plain"}},
		{[]string{"curl", "-u", "admin:pw", "https://h"}, []string{"curl", "-u", "admin:***", "https://h"}},
		{[]string{"app", "--password", "-xyz", "--verbose"}, []string{"app", "--password", "***", "--verbose"}},
		{[]string{"app", "--token", "--verbose"}, []string{"app", "--token", "--verbose"}},
		{[]string{"ssh", "--private-key=/k", "--client-secret", "v"}, []string{"ssh", "--private-key=***", "--client-secret", "***"}},
		{[]string{"app", "--level=debug", "plain"}, []string{"app", "--level=debug", "plain"}},
		{[]string{"docker", "run", "-p", "8080:80", "nginx"}, []string{"docker", "run", "-p", "8080:80", "nginx"}},
		{[]string{"docker", "login", "-p", "pw", "r.io"}, []string{"docker", "login", "-p", "***", "r.io"}},
		{[]string{"mysql", "-p", "shop"}, []string{"mysql", "-p", "shop"}},
		{[]string{"openssl", "rsa", "-passin", "env:KEY_PASS"}, []string{"openssl", "rsa", "-passin", "env:KEY_PASS"}},
		{[]string{"htpasswd", "-c", "/etc/htpasswd", "alice"}, []string{"htpasswd", "-c", "/etc/htpasswd", "alice"}},
		{[]string{"docker", "run", "-u", "1000:1000", "img"}, []string{"docker", "run", "-u", "1000:1000", "img"}},
		{[]string{"git", "log", "--author=alice"}, []string{"git", "log", "--author=alice"}},
		{[]string{"x", "https://u:p@ss@h/p"}, []string{"x", "https://u:***@h/p"}},
		// Shell scripts: each command by its own rules, the rest verbatim.
		{[]string{"sh", "-c", "mysql -u root -phunter2 db"}, []string{"sh", "-c", "mysql -u root -p*** db"}},
		{[]string{"bash", "-lc", `cd /x && mysql -p'a b' db; echo ok | mysql -p"hun"ter2 db2`}, []string{"bash", "-lc", `cd /x && mysql -p'***' db; echo ok | mysql -p*** db2`}},
		{[]string{"sh", "-c", `docker login -p "--pw" reg`}, []string{"sh", "-c", `docker login -p "***" reg`}},
		{[]string{"sh", "-c", `x --password="hun"ter2 y`}, []string{"sh", "-c", `x --password=*** y`}},
		{[]string{"sh", "-c", `x "--password=hun"ter2 y`}, []string{"sh", "-c", `x *** y`}},
		{[]string{"sh", "-c", "docker run -p 8080:80 nginx"}, []string{"sh", "-c", "docker run -p 8080:80 nginx"}},
		{[]string{"sh", "script.sh", "-phunter2"}, []string{"sh", "script.sh", "-phunter2"}},
		// Wrappers: the wrapped command by its own rules.
		{[]string{"sudo", "-u", "app", "mysql", "-phunter2"}, []string{"sudo", "-u", "app", "mysql", "-p***"}},
		{[]string{"timeout", "-k", "5", "30", "docker", "login", "-p", "x", "r"}, []string{"timeout", "-k", "5", "30", "docker", "login", "-p", "***", "r"}},
		{[]string{"env", "A=1", "mysql"}, []string{"env", "A=1", "mysql"}},
		// URL passwords holding '/', '?', '#'; ports and paths stay.
		{[]string{"psql", "postgres://u:a/b?c#d@host/db"}, []string{"psql", "postgres://u:***@host/db"}},
		{[]string{"x", "http://localhost:3000/@vite/client"}, []string{"x", "http://localhost:3000/@vite/client"}},
		{[]string{"x", "https://host/a:b@c"}, []string{"x", "https://host/a:b@c"}},
		{[]string{"lftp", "-u", "alice,pw", "h"}, []string{"lftp", "-u", "alice,***", "h"}},
		{[]string{"x", "--user=alice:pw"}, []string{"x", "--user=alice:***"}},
		{[]string{"x", "--app-key", "0123456789abcdef0123456789abcdef", "--cache-key", "short"}, []string{"x", "--app-key", "***", "--cache-key", "short"}},
		{[]string{"x", "XDG_SESSION_ID=2", "SESSIONID=abc"}, []string{"x", "XDG_SESSION_ID=2", "SESSIONID=***"}},
		{nil, []string{}},
	}
	for _, c := range cases {
		in := slices.Clone(c.in)
		got := Args(in)
		if !slices.Equal(got, c.want) {
			t.Errorf("Args(%q) = %q, want %q", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("Args modified its input: %q", in)
		}
	}
}

func TestIsSecretName(t *testing.T) {
	for _, n := range []string{"PASSWORD", "db_passwd", "apiKey", "X-Auth-Token", "aws.secret", "credentials", "PRIVATE_KEY"} {
		if !IsSecretName(n) {
			t.Errorf("%q should be secret", n)
		}
	}
	for _, n := range []string{"level", "path", "HOME", "user", "port", "AuthorizedKeysCommand", "AuthorizedPrincipalsCommand"} {
		if IsSecretName(n) {
			t.Errorf("%q should not be secret", n)
		}
	}
}

// TestArgsNoAlloc: a command line without secrets comes back as is, at no
// allocation.
func TestArgsNoAlloc(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = Args(benchArgs) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
	if out := Args(benchArgs); &out[0] != &benchArgs[0] {
		t.Errorf("a copy was returned")
	}
}

func TestConfigErrors(t *testing.T) {
	err := Config{Rules: []Rule{
		{Executable: "a", Flag: "-k"},
		{Pattern: "(x"},
		{Executable: "a"},
		{Flag: "-k"},
		{Executable: "/usr/bin/a", Position: 1},
		{Executable: "a", Flag: "--key", Glued: true},
		{Executable: "a", Flag: "-k", Form: "bogus"},
	}}.Check("redaction::")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"redaction::rules[1]: pattern: error parsing regexp",
		"redaction::rules[2]: one of flag, position or pattern is required",
		"redaction::rules[3]: executable: required with flag or position",
		"redaction::rules[4]: executable:",
		"redaction::rules[5]: glued:",
		"redaction::rules[6]: form:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "rules[0]") {
		t.Errorf("valid rule reported: %v", err)
	}
}
