package jobs

import (
	"github.com/tenantctl/tenantctl/backup"
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
