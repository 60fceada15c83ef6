package devenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/localpg"
)

// BackupDir is where, in the clusters' directory, `dev up` keeps pgBackRest's stanza
// files and the local repository of each dev server.
const BackupDir = "pgbackrest"

// NoPgBackRest is what `dev up` (and the demo) say when pgbackrest is missing.
const NoPgBackRest = "pgbackrest is not installed: the dev servers have no backups (apt-get install pgbackrest, then run 'tenantctl dev up' again)"

// backupSettings are the pgBackRest stanza of dev server name: its files under
// <data>/pgbackrest, its repository beside them, reached on the cluster's socket as the
// cluster's superuser with a password file that only the server's OS user reads.
func backupSettings(data, name string) backup.Settings {
	dir := filepath.Join(data, BackupDir)
	s := backup.Settings{
		Server: name, Stanza: name,
		ConfigPath:   filepath.Join(dir, name+".conf"),
		RepoPath:     filepath.Join(dir, "repo-"+name),
		PgPath:       filepath.Join(data, name, "data"),
		PgSocketPath: filepath.Join(data, name, "sock"),
		PgUser:       "postgres",
		PgPassfile:   filepath.Join(dir, name+".pgpass"),
	}
	backup.Defaults(&s)
	return s
}

// serverBackupSettings are the postgresql.conf settings a dev server archives its WAL
// with; full-page writes stay on (pgBackRest refuses backups without them).
func serverBackupSettings(s backup.Settings) map[string]string {
	m := backup.ServerSettings(s)
	m["full_page_writes"] = "on"
	return m
}

// configureBackup makes dev server c archive its WAL to a local pgBackRest repository
// and records the stanza in the catalog, then checks it (pgbackrest check archives a
// segment and waits for it). A cluster made by an older `dev up` without archiving gets
// the settings and a restart. Running it again is harmless.
func configureBackup(ctx context.Context, store *catalog.Store, c *localpg.Cluster, s backup.Settings) error {
	s.PgPort = c.Port
	if err := backup.Validate(s); err != nil {
		return err
	}
	if err := ensureArchiving(ctx, c, s); err != nil {
		return err
	}
	if err := backup.Install(s); err != nil {
		return err
	}
	tmp := s.PgPassfile + ".tmp"
	if err := os.WriteFile(tmp, []byte("*:*:*:"+c.User+":"+c.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := backup.Chown(s, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.PgPassfile); err != nil {
		return err
	}
	if err := store.SetBackupSettings(ctx, s); err != nil {
		return err
	}
	if err := backup.Check(ctx, s); err != nil {
		return fmt.Errorf("pgbackrest check: %w", err)
	}
	return nil
}

// ensureArchiving turns WAL archiving on in a cluster that runs without it (ALTER
// SYSTEM, then a restart: archive_mode needs one).
func ensureArchiving(ctx context.Context, c *localpg.Cluster, s backup.Settings) error {
	conn, err := dbconn.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var mode, fpw string
	if err := conn.QueryRow(ctx, `SELECT current_setting('archive_mode'), current_setting('full_page_writes')`).Scan(&mode, &fpw); err != nil {
		return err
	}
	if mode == "on" && fpw == "on" {
		return nil
	}
	for k, v := range serverBackupSettings(s) {
		// Values are the literals ServerSettings renders (quoted where they need it).
		if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER SYSTEM SET %s = %s", k, v)); err != nil {
			return fmt.Errorf("turn on WAL archiving: %w", err)
		}
	}
	conn.Close(ctx)
	if err := c.Stop(ctx); err != nil {
		return err
	}
	return c.Start(ctx)
}
