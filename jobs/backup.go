package jobs

import (
	"context"
	"errors"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/mover"
)

// Backup backs up every server with backup settings through pgBackRest
// ([backup.Run]); counts: servers backed up and failed.
var Backup = Def[backup.RunOptions, []backup.RunResult]{
	Name: "backup",
	run:  backup.Run,
	counts: func(results []backup.RunResult, _ error) map[string]int64 {
		m := map[string]int64{"servers": int64(len(results)), "failed": 0}
		for _, r := range results {
			if r.Error != "" {
				m["failed"]++
			}
		}
		return m
	},
}

// backupBody is the scheduled backup: incremental (pgBackRest makes a full one when it
// has none to build on) on every server with settings.
func backupBody(env *fleetenv.Env, log hclog.Logger) func() (backup.RunOptions, error) {
	return func() (backup.RunOptions, error) {
		return backup.RunOptions{Env: BackupEnv(env, log), Type: backup.TypeIncr}, nil
	}
}

// BackupEnv is what a physical backup run takes from the environment: its store and
// server handles, and log.
func BackupEnv(env *fleetenv.Env, log hclog.Logger) backup.Env {
	return backup.Env{Store: env.Store, Server: env.Servers.Get, Log: log}
}

// logicalBackupBody is the scheduled logical backup: every active tenant into
// s.LogicalBackupDir, kept s.LogicalBackupKeep.
func logicalBackupBody(env *fleetenv.Env, s Settings, log hclog.Logger) func() (LogicalBackupOptions, error) {
	return func() (LogicalBackupOptions, error) {
		if s.LogicalBackupDir == "" {
			return LogicalBackupOptions{}, errors.New("no directory for the logical backups is configured (--backup-logical-dir)")
		}
		return LogicalBackupOptions{Mover: mover.New(env.Provisioner, log),
			LogicalBackupOptions: mover.LogicalBackupOptions{Dir: s.LogicalBackupDir, Keep: s.LogicalBackupKeep}}, nil
	}
}

// LogicalBackupOptions are a logical backup run's: the mover that exports and its
// options.
type LogicalBackupOptions struct {
	Mover *mover.Mover
	mover.LogicalBackupOptions
}

// LogicalBackup exports every active tenant into the backup directory
// ([mover.Mover.LogicalBackup]); counts: tenants backed up, failed, files removed by the
// retention, bytes written, and what a killed run left that this one settled (archives
// recorded, partial files removed). It is run by 'backup run --logical', and by the
// scheduler on its schedule (off unless a directory is configured).
var LogicalBackup = Def[LogicalBackupOptions, []mover.LogicalBackupResult]{
	Name: "backup-logical",
	run: func(ctx context.Context, o LogicalBackupOptions) ([]mover.LogicalBackupResult, error) {
		return o.Mover.LogicalBackup(ctx, o.LogicalBackupOptions)
	},
	counts: func(results []mover.LogicalBackupResult, _ error) map[string]int64 {
		m := map[string]int64{"tenants": int64(len(results)), "failed": 0, "removed": 0, "bytes": 0}
		for _, r := range results {
			if r.Error != "" {
				m["failed"]++
			}
			m["removed"] += int64(len(r.Removed))
			m["bytes"] += r.Bytes
			if n := int64(len(r.Recorded)); n > 0 {
				m["swept_recorded"] += n
			}
			if n := int64(len(r.PartialsRemoved)); n > 0 {
				m["swept_partials"] += n
			}
		}
		return m
	},
}
