package redact

import "strings"

// builtinRules is the table of tools whose secrets the generic rules would
// miss: short flags (-p, -a, -w), values glued to a short flag (-pSECRET),
// positional operands, user:password forms and subcommands that change a
// flag's meaning (docker login -p is a password, docker run -p a port).
//
// Each line is data: the executables (base name of argv[0]), the
// subcommand words that must come first among the operands, and one of
//
//   - flags: flags whose value is secret, as the next argument or after
//     '=' (--password=x); glued: short flags whose value may also be glued
//     on (-pSECRET); a flag listed only in glued never takes the next
//     argument (mysql -p alone prompts);
//   - pos: the n-th operand after the subcommand (negative: from the end),
//     with ifFlag, a short option letter that must be given (htpasswd -b).
//
// form says where in the value the secret sits (whole by default). takes
// lists the tool's other flags that take a value, so that operands are
// counted right.
//
// Flags whose names already say "password", "token", "secret", … need no
// line: the generic rules mask them for every tool. They are listed where a
// tool documents them, for the README's sake and the corpus test.
var builtinRules = []tableRule{
	// MySQL and MariaDB clients: -pSECRET (glued only), --password=SECRET.
	{
		Executables: []string{
			"mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlcheck", "mysqlshow",
			"mysqlslap", "mysqlpump", "mysqlbinlog", "mysqlsh", "mysql_upgrade",
			"mariadb", "mariadb-dump", "mariadb-admin", "mariadb-import", "mariadb-check",
			"mariadb-show", "mariadb-slap", "mariadb-binlog", "mariadb-upgrade", "mydumper", "myloader",
		},
		Glued: []string{"-p"},
		Flags: []string{"--password"},
	},
	// PostgreSQL: URIs and password= in conninfo are generic.
	{Executables: []string{"psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_basebackup", "pgbench", "createdb", "dropdb", "vacuumdb", "reindexdb", "pg_isready"}, Flags: []string{"--password"}},
	// redis-cli -a SECRET, --pass SECRET, --user; -u redis://:SECRET@host is generic.
	{Executables: []string{"redis-cli", "valkey-cli", "keydb-cli", "redis-benchmark"}, Flags: []string{"-a", "--pass", "--askpass-value"}},
	// MongoDB shells and tools: -p SECRET, --password SECRET, URIs.
	{Executables: []string{"mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop", "mongofiles"}, Flags: []string{"-p", "--password"}},
	// sshpass -p SECRET (also -pSECRET).
	{Executables: []string{"sshpass"}, Flags: []string{"-p"}, Glued: []string{"-p"}},
	// Samba: -U user%SECRET, --user=user%SECRET, and smbclient //server/share SECRET.
	{Executables: []string{"smbclient", "rpcclient", "smbcacls", "smbget", "smbtree", "smbmap", "net", "mount.cifs", "samba-tool"}, Flags: []string{"-U", "--user", "--username"}, Glued: []string{"-U"}, Form: "user%pass"},
	{Executables: []string{"smbclient"}, Pos: 2, IfOperand: "//", Takes: []string{"-U", "-W", "-I", "-p", "-n", "-m", "-d", "-s", "-l", "-O", "-D", "-c", "-A", "-b", "-t", "-M", "-L", "-T"}},
	// OpenLDAP clients: -w SECRET, -wSECRET.
	{Executables: []string{"ldapsearch", "ldapmodify", "ldapadd", "ldapdelete", "ldapwhoami", "ldappasswd", "ldapcompare", "ldapmodrdn", "ldapexop", "ldapurl"}, Flags: []string{"-w"}, Glued: []string{"-w"}},
	// ldappasswd: old (-a) and new (-s) passwords.
	{Executables: []string{"ldappasswd"}, Flags: []string{"-a", "-s"}, Glued: []string{"-a", "-s"}},
	// curl: -u/-U user:SECRET, --oauth2-bearer, headers (generic), --proxy-user.
	{Executables: []string{"curl"}, Flags: []string{"-u", "-U", "--user", "--proxy-user"}, Glued: []string{"-u", "-U"}, Form: "user:pass"},
	{Executables: []string{"curl"}, Flags: []string{"--oauth2-bearer", "--aws-sigv4-secret"}},
	// wget --password, --http-password, --ftp-password, --proxy-password are generic.
	{Executables: []string{"wget", "wget2"}, Flags: []string{"--password", "--http-password", "--ftp-password", "--proxy-password"}},
	// Registry logins: -p SECRET, --password SECRET. Not docker run -p.
	{Executables: []string{"docker", "podman", "nerdctl", "buildah", "skopeo", "crane", "oras", "regctl"}, Sub: []string{"login"}, Flags: []string{"-p", "--password"}},
	{Executables: []string{"helm"}, Sub: []string{"registry", "login"}, Flags: []string{"-p", "--password"}},
	{Executables: []string{"helm"}, Sub: []string{"repo", "add"}, Flags: []string{"--password"}},
	{Executables: []string{"skopeo"}, Flags: []string{"--creds", "--src-creds", "--dest-creds"}, Form: "user:pass"},
	{Executables: []string{"crictl"}, Sub: []string{"pull"}, Flags: []string{"--creds"}, Form: "user:pass"},
	// kubectl and friends: --token, --password (generic; listed for the docs).
	{Executables: []string{"kubectl", "oc", "kubeadm"}, Flags: []string{"--token", "--password"}},
	{Executables: []string{"oc"}, Sub: []string{"login"}, Flags: []string{"-p"}},
	// HashiCorp: -token=, VAULT_TOKEN= (generic), vault login TOKEN.
	{Executables: []string{"vault"}, Sub: []string{"login"}, Pos: 1, Form: "token", Takes: []string{"-method", "-address", "-namespace", "-path", "-format"}},
	{Executables: []string{"vault", "consul", "nomad", "terraform", "boundary", "waypoint"}, Flags: []string{"-token", "--token"}},
	// Cloud CLIs: aws configure set aws_secret_access_key SECRET, az login -p SECRET.
	{Executables: []string{"aws"}, Sub: []string{"configure", "set"}, Pos: 2, Form: "pair"},
	{Executables: []string{"az"}, Sub: []string{"login"}, Flags: []string{"-p", "--password", "--federated-token"}},
	{Executables: []string{"az", "gcloud"}, Flags: []string{"--client-secret", "--password", "--access-token"}},
	// openssl: -pass/-passin/-passout pass:SECRET (env:, file:, fd:, stdin are
	// kept), enc -k SECRET and -K hexkey.
	{Executables: []string{"openssl"}, Flags: []string{"-pass", "-passin", "-passout", "-password", "-srppass", "-psk"}, Form: "pass:"},
	{Executables: []string{"openssl"}, Flags: []string{"-k", "-K"}},
	// htpasswd -b FILE USER SECRET, htpasswd -bn USER SECRET: the last operand.
	{Executables: []string{"htpasswd"}, Pos: -1, IfFlag: "b", Takes: []string{"-C", "-r"}},
	// git: URLs with userinfo and -c http.extraheader="Authorization: …" are
	// generic; credential helpers' password=.
	// mount -o username=u,password=SECRET is generic (key=value lists).
	// Java: -Dsome.password=SECRET is generic.
	// Misc: tools with short secret flags.
	{Executables: []string{"sqlcmd", "bcp"}, Flags: []string{"-P"}},
	{Executables: []string{"rabbitmqctl"}, Sub: []string{"add_user"}, Pos: 2},
	{Executables: []string{"rabbitmqctl"}, Sub: []string{"change_password"}, Pos: 2},
	{Executables: []string{"chpasswd", "usermod", "useradd"}, Flags: []string{"-p", "--password"}},
	{Executables: []string{"rclone"}, Sub: []string{"obscure"}, Pos: 1},
	{Executables: []string{"zip", "unzip", "zipcloak"}, Flags: []string{"-P", "--password"}},
	{Executables: []string{"7z", "7za", "7zz"}, Glued: []string{"-p"}},
	// lftp -u user,SECRET; ncftp -u user -p SECRET.
	{Executables: []string{"lftp"}, Flags: []string{"-u", "--user"}, Form: "user,pass"},
	{Executables: []string{"ncftp", "ncftpget", "ncftpput", "ncftpls"}, Flags: []string{"-p"}},
	{Executables: []string{"ncftp"}, Flags: []string{"-u"}, Form: "user:pass"},
	// ssh-keygen -N new passphrase, -P old passphrase (-N "" stays).
	{Executables: []string{"ssh-keygen"}, Flags: []string{"-N", "-P"}, Glued: []string{"-N", "-P"}},
	// redis-cli AUTH [user] SECRET, CONFIG SET requirepass SECRET.
	{Executables: redisCLIs, Sub: []string{"AUTH"}, Pos: -1, Takes: redisTakes},
	{Executables: redisCLIs, Sub: []string{"auth"}, Pos: -1, Takes: redisTakes},
	{Executables: redisCLIs, Sub: []string{"CONFIG", "SET"}, Pos: 2, Form: "pair", Takes: redisTakes},
	{Executables: redisCLIs, Sub: []string{"config", "set"}, Pos: 2, Form: "pair", Takes: redisTakes},
	// nmcli: property value pairs, password SECRET, wifi-sec.psk SECRET.
	{Executables: []string{"nmcli"}, Pairs: true},
	// Password manager sessions: bw --session KEY, op --session TOKEN.
	{Executables: []string{"bw", "op"}, Flags: []string{"--session"}},
	// curl -b/--cookie NAME=VALUE (a file name without '=' is kept).
	{Executables: []string{"curl"}, Flags: []string{"-b", "--cookie"}, Form: "cookie"},
	{Executables: []string{"keytool", "jarsigner"}, Flags: []string{"-storepass", "-keypass", "-srcstorepass", "-deststorepass", "-srckeypass", "-destkeypass", "-new"}},
}

var (
	redisCLIs  = []string{"redis-cli", "valkey-cli", "keydb-cli"}
	redisTakes = []string{"-h", "-p", "-s", "-a", "-u", "-n", "-r", "-i", "-d", "-D", "--user", "--pass", "--askpass-value", "--cacert", "--cacertdir", "--cert", "--key", "--sni"}
)

// tableRule is one line of the table; a user's Rule becomes one too.
type tableRule struct {
	Executables []string
	Sub         []string // subcommand words, in order, among the first operands
	Flags       []string // value is secret: next argument or after '='
	Glued       []string // value is secret when glued on: -pSECRET
	Pos         int      // n-th operand after Sub, 1-based; negative: from the end
	IfFlag      string   // Pos applies only with this short option letter
	IfOperand   string   // Pos applies only when the first operand has this prefix
	Takes       []string // other flags that take a value
	Form        string   // "" (whole), user:pass, user,pass, user%pass, pass:, pair, token
	Pairs       bool     // operands are name value pairs: a secret name's value is secret
}

// toolRule is a compiled tableRule.
type toolRule struct {
	sub       []string
	flags     []flagRule
	pos       int
	ifFlag    byte
	ifOperand string
	takes     map[string]bool
	form      form
	pairs     bool
}

type flagRule struct {
	name            string
	separate, glued bool
	form            form
}

func (t tableRule) compile() *toolRule {
	f := formNames[t.Form]
	tr := &toolRule{sub: t.Sub, pos: t.Pos, ifOperand: t.IfOperand, takes: map[string]bool{}, form: f, pairs: t.Pairs}
	if t.IfFlag != "" {
		tr.ifFlag = t.IfFlag[0]
	}
	for _, fl := range t.Flags {
		tr.flags = append(tr.flags, flagRule{name: fl, separate: true, form: f})
		tr.takes[fl] = true
	}
	for _, fl := range t.Glued {
		found := false
		for k := range tr.flags {
			if tr.flags[k].name == fl {
				tr.flags[k].glued, found = true, true
			}
		}
		if !found {
			tr.flags = append(tr.flags, flagRule{name: fl, glued: true, form: f})
		}
	}
	for _, fl := range t.Takes {
		tr.takes[fl] = true
	}
	return tr
}

// operands returns the indexes of the operands in args[from:]: arguments
// that are not flags nor the value of a flag the rule knows to take one.
func (t *toolRule) operands(args []string, from int, buf []int) []int {
	dashdash := false
	for i := from; i < len(args); i++ {
		a := args[i]
		switch {
		case dashdash || a == "-" || a == "" || a[0] != '-':
			buf = append(buf, i)
		case a == "--":
			dashdash = true
		case t.takes[a]:
			i++
		}
	}
	return buf
}

// scope returns the index after the rule's subcommand, 1 when it has none,
// or -1 when the command line does not have it.
func (t *toolRule) scope(args []string) int {
	if len(t.sub) == 0 {
		return 1
	}
	var buf [16]int
	ops := t.operands(args, 1, buf[:0])
	for k := 0; k < len(ops) && k < 3; k++ {
		if k+len(t.sub) > len(ops) {
			return -1
		}
		match := true
		for j, w := range t.sub {
			if args[ops[k+j]] != w {
				match = false
				break
			}
		}
		if match {
			return ops[k+len(t.sub)-1] + 1
		}
	}
	return -1
}

// operandAt returns the index of the rule's positional secret, or 0.
func (t *toolRule) operandAt(args []string, from int) int {
	if t.ifFlag != 0 && !hasShortFlag(args[1:], t.ifFlag) {
		return 0
	}
	var buf [16]int
	ops := t.operands(args, from, buf[:0])
	if len(ops) == 0 || t.ifOperand != "" && !strings.HasPrefix(args[ops[0]], t.ifOperand) {
		return 0
	}
	k := t.pos - 1
	if t.pos < 0 {
		k = len(ops) + t.pos
	}
	if k < 0 || k >= len(ops) {
		return 0
	}
	if t.form == formPair && (k == 0 || !IsSecretName(args[ops[k-1]])) {
		return 0
	}
	return ops[k]
}

// hasShortFlag reports whether a cluster of short options (-b, -bn, -cbB)
// holds the letter c.
func hasShortFlag(args []string, c byte) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a, c) > 0 {
			return true
		}
	}
	return false
}

// isPairSecret reports whether an operand names a secret property whose
// value follows (nmcli … password SECRET, wifi-sec.psk SECRET).
func isPairSecret(a string) bool {
	a = strings.TrimLeft(a, "+-")
	if strings.HasSuffix(a, ".psk") || strings.Contains(a, ".wep-key") || strings.HasSuffix(a, ".pin") {
		return !strings.HasSuffix(a, "-flags") && !strings.HasSuffix(a, "-type")
	}
	return IsSecretName(a)
}
