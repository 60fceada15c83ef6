package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBackupSettings is returned by [Store.GetBackupSettings] for a server whose
// pgBackRest stanza is not recorded.
var ErrNoBackupSettings = errors.New("no backup settings recorded for the server")

// BackupSettings are one server's pgBackRest stanza, as recorded in backup_settings
// (migration 00015). PgPassfile is a path only: the catalog never holds the secret.
type BackupSettings struct {
	Server        string    `json:"server"`
	Stanza        string    `json:"stanza"`
	ConfigPath    string    `json:"config_path"`
	RepoPath      string    `json:"repo_path"`
	PgPath        string    `json:"pg_path"`
	PgPort        int       `json:"pg_port"`
	PgSocketPath  string    `json:"pg_socket_path"`
	PgUser        string    `json:"pg_user"`
	PgPassfile    string    `json:"pg_passfile,omitempty"`
	RetentionFull int       `json:"retention_full"`
	UpdatedAt     time.Time `json:"updated_at"`
}

const backupSettingsColumns = `server, stanza, config_path, repo_path, pg_path, pg_port, pg_socket_path, pg_user, pg_passfile, retention_full, updated_at`

func scanBackupSettings(row pgx.Row) (BackupSettings, error) {
	var b BackupSettings
	err := row.Scan(&b.Server, &b.Stanza, &b.ConfigPath, &b.RepoPath, &b.PgPath, &b.PgPort, &b.PgSocketPath, &b.PgUser,
		&b.PgPassfile, &b.RetentionFull, &b.UpdatedAt)
	return b, err
}

// SetBackupSettings records (or replaces) a server's backup settings.
func (s *Store) SetBackupSettings(ctx context.Context, b BackupSettings) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO backup_settings (server, stanza, config_path, repo_path, pg_path, pg_port,
			pg_socket_path, pg_user, pg_passfile, retention_full)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (server) DO UPDATE SET stanza = EXCLUDED.stanza, config_path = EXCLUDED.config_path,
			repo_path = EXCLUDED.repo_path, pg_path = EXCLUDED.pg_path, pg_port = EXCLUDED.pg_port,
			pg_socket_path = EXCLUDED.pg_socket_path, pg_user = EXCLUDED.pg_user, pg_passfile = EXCLUDED.pg_passfile,
			retention_full = EXCLUDED.retention_full, updated_at = now()`,
		b.Server, b.Stanza, b.ConfigPath, b.RepoPath, b.PgPath, b.PgPort, b.PgSocketPath, b.PgUser, b.PgPassfile, b.RetentionFull)
	if err != nil {
		return fmt.Errorf("record backup settings of server %q: %w", b.Server, err)
	}
	return nil
}

// GetBackupSettings returns a server's backup settings, or [ErrNoBackupSettings].
func (s *Store) GetBackupSettings(ctx context.Context, server string) (BackupSettings, error) {
	b, err := scanBackupSettings(s.pool.QueryRow(ctx, `SELECT `+backupSettingsColumns+` FROM backup_settings WHERE server = $1`, server))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("server %q: %w", server, ErrNoBackupSettings)
	}
	return b, err
}

// ListBackupSettings returns every server's backup settings, by server name.
func (s *Store) ListBackupSettings(ctx context.Context) ([]BackupSettings, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+backupSettingsColumns+` FROM backup_settings ORDER BY server`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (BackupSettings, error) { return scanBackupSettings(r) })
}

// ServerBackup is one backup in a server's pgBackRest repository.
type ServerBackup struct {
	Server    string    `json:"server"`
	Label     string    `json:"label"`
	Type      string    `json:"type"`
	StartedAt time.Time `json:"started_at"`
	StoppedAt time.Time `json:"stopped_at"`
	SizeBytes int64     `json:"size_bytes"`
}

// SyncServerBackups makes server_backups hold exactly the backups given for server (the
// repository's own list): expired backups disappear, new ones appear.
func (s *Store) SyncServerBackups(ctx context.Context, server string, backups []ServerBackup) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		labels := make([]string, 0, len(backups))
		for _, b := range backups {
			labels = append(labels, b.Label)
			if _, err := tx.Exec(ctx, `INSERT INTO server_backups (server, label, type, started_at, stopped_at, size_bytes)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (server, label) DO NOTHING`,
				server, b.Label, b.Type, b.StartedAt, b.StoppedAt, b.SizeBytes); err != nil {
				return fmt.Errorf("record backup %s of server %q: %w", b.Label, server, err)
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM server_backups WHERE server = $1 AND label <> ALL($2)`, server, labels)
		return err
	})
}

// LastBackups returns, per server with backup settings, when its newest recorded backup
// finished (absent for a server with none).
func (s *Store) LastBackups(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT b.server, max(sb.stopped_at) FROM backup_settings b
		JOIN server_backups sb ON sb.server = b.server GROUP BY b.server`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var server string
		var at time.Time
		if err := rows.Scan(&server, &at); err != nil {
			return nil, err
		}
		out[server] = at
	}
	return out, rows.Err()
}
