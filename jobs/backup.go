package jobs

import (
	"context"

	"github.com/tenantctl/tenantctl/backup"
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
func backupBody(env Env) func() (backup.RunOptions, error) {
	return func() (backup.RunOptions, error) {
		p := env.Provisioner
		return backup.RunOptions{Env: backup.Env{Store: p.Store, Server: p.Server, Log: env.Log}, Type: backup.TypeIncr}, nil
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
// retention, bytes written. It is run by 'backup run --logical' and recorded like every
// job; the scheduler does not run it (it is not in [Names]).
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
		}
		return m
	},
}
