package redact

import "testing"

// A typical 10-argument command line, without secrets.
var benchArgs = []string{
	"/usr/bin/java", "-Xmx2g", "-XX:+UseG1GC", "-Dfile.encoding=UTF-8",
	"-Dspring.profiles.active=prod", "-jar", "/opt/app/app.jar", "--server.port=8080",
	"--logging.level.root=INFO", "--spring.config.location=/etc/app/",
}

// The same with three secrets of different kinds.
var benchSecretArgs = []string{
	"mysql", "-uroot", "-pHunt3r2pw", "-h", "db.internal", "--ssl-mode=REQUIRED",
	"--init-command=SET NAMES utf8", "-e", "select 1", "--password=x",
}

func BenchmarkArgs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Args(benchArgs)
	}
}

func BenchmarkArgsSecrets(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Args(benchSecretArgs)
	}
}
