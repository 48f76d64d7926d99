package redact

import (
	"slices"
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
	for _, n := range []string{"level", "path", "HOME", "user", "port"} {
		if IsSecretName(n) {
			t.Errorf("%q should not be secret", n)
		}
	}
}
