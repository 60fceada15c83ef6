package backup

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
)

// Settings are a server's pgBackRest stanza (see [catalog.BackupSettings]).
type Settings = catalog.BackupSettings

// DefaultConfigDir is where a stanza's configuration file goes unless another path is
// recorded: /etc/pgbackrest/conf.d/<stanza>.conf would be read by every stanza, so each
// server has a file of its own, named by --config.
const DefaultConfigDir = "/etc/pgbackrest"

var stanzaRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Defaults fills what the settings leave empty: the stanza is the server's name, the
// configuration file /etc/pgbackrest/<stanza>.conf, the socket directory Debian's, the
// user postgres, two full backups kept.
func Defaults(s *Settings) {
	if s.Stanza == "" {
		s.Stanza = s.Server
	}
	if s.ConfigPath == "" {
		s.ConfigPath = filepath.Join(DefaultConfigDir, s.Stanza+".conf")
	}
	if s.PgSocketPath == "" {
		s.PgSocketPath = "/var/run/postgresql"
	}
	if s.PgUser == "" {
		s.PgUser = "postgres"
	}
	if s.PgPort == 0 {
		s.PgPort = 5432
	}
	if s.RetentionFull == 0 {
		s.RetentionFull = 2
	}
}

// Validate checks settings (after [Defaults]) without touching anything.
func Validate(s Settings) error {
	if err := validate.ServerName(s.Server); err != nil {
		return err
	}
	if !stanzaRE.MatchString(s.Stanza) {
		return validate.Field("stanza", s.Stanza, "use letters, digits and . _ - (at most 63)")
	}
	for _, p := range []struct{ field, v string }{
		{"config path", s.ConfigPath}, {"repository path", s.RepoPath}, {"data directory", s.PgPath}, {"socket directory", s.PgSocketPath},
	} {
		if p.v == "" {
			return validate.Field(p.field, p.v, "is required")
		}
		if !filepath.IsAbs(p.v) || strings.ContainsAny(p.v, "\n\r'\"=") {
			return validate.Field(p.field, p.v, "must be an absolute path without quotes, = or line breaks")
		}
	}
	if s.PgPassfile != "" && (!filepath.IsAbs(s.PgPassfile) || strings.ContainsAny(s.PgPassfile, "\n\r")) {
		return validate.Field("password file", s.PgPassfile, "must be an absolute path")
	}
	if s.PgPort < 1 || s.PgPort > 65535 {
		return validate.Field("port", s.PgPort, "must be 1-65535")
	}
	if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`).MatchString(s.PgUser) {
		return validate.Field("user", s.PgUser, "must be a plain role name")
	}
	if s.RetentionFull < 1 {
		return validate.Field("full backups kept", s.RetentionFull, "must be at least 1")
	}
	return nil
}

// lockDir is pgbackrest's lock directory for a stanza: next to its configuration, so
// the OS user that runs the server (archive-push) and tenantctl share it.
func lockDir(s Settings) string { return filepath.Join(filepath.Dir(s.ConfigPath), "lock-"+s.Stanza) }

// Conf is the pgbackrest.conf for the server's stanza.
func Conf(s Settings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# pgBackRest stanza %s for tenantctl server %s (tenantctl backup setup %s)\n", s.Stanza, s.Server, s.Server)
	b.WriteString("[global]\n")
	fmt.Fprintf(&b, "repo1-path=%s\n", s.RepoPath)
	fmt.Fprintf(&b, "repo1-retention-full=%d\n", s.RetentionFull)
	fmt.Fprintf(&b, "lock-path=%s\n", lockDir(s))
	b.WriteString("log-level-console=warn\nlog-level-file=off\nstart-fast=y\narchive-async=n\ncompress-type=lz4\n")
	fmt.Fprintf(&b, "\n[%s]\n", s.Stanza)
	fmt.Fprintf(&b, "pg1-path=%s\n", s.PgPath)
	fmt.Fprintf(&b, "pg1-port=%d\n", s.PgPort)
	fmt.Fprintf(&b, "pg1-socket-path=%s\n", s.PgSocketPath)
	fmt.Fprintf(&b, "pg1-user=%s\n", s.PgUser)
	return b.String()
}

// ArchiveCommand is the server's archive_command for the stanza.
func ArchiveCommand(s Settings) string {
	return "pgbackrest --config=" + s.ConfigPath + " --stanza=" + s.Stanza + " archive-push %p"
}

// ServerSettings are the postgresql.conf settings the server needs: WAL archived to the
// stanza (archive_mode needs a restart). wal_level logical also does.
func ServerSettings(s Settings) map[string]string {
	return map[string]string{
		"archive_mode":    "on",
		"archive_command": "'" + ArchiveCommand(s) + "'",
		"wal_level":       "replica",
		"archive_timeout": "60",
	}
}

// ServerSettingsText renders [ServerSettings] as postgresql.conf lines, sorted.
func ServerSettingsText(s Settings) string {
	m := ServerSettings(s)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		c := ""
		switch k {
		case "archive_mode":
			c = "   # needs a restart"
		case "wal_level":
			c = "   # or logical; needs a restart"
		case "archive_timeout":
			c = "   # seconds: the most WAL (and time) an idle server can leave unarchived"
		}
		fmt.Fprintf(&b, "%s = %s%s\n", k, m[k], c)
	}
	return b.String()
}
