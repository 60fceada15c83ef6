package scheduler

import (
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/cli/cmdutil"
	"github.com/tenantctl/tenantctl/config"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	schedulerlib "github.com/tenantctl/tenantctl/scheduler"
)

func TestSchedulerFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdScheduler(cmdtest.Factory(), cmdtest.Capture(&got)), "--node", "n1"))
	cfg := got.Config
	require.Equal(t, "n1", cfg.Node)
	require.Equal(t, schedulerlib.DefaultListen, cfg.Listen)
	require.Equal(t, "@hourly", cfg.Schedules["rollup"])
	require.Equal(t, "off", cfg.Schedules["report"])
	require.Equal(t, provisioner.DefaultRetention, cfg.PurgeRetention)
	require.Equal(t, 720*time.Hour, cfg.JobRetention)
	require.Equal(t, "html", cfg.ReportFormat)
	require.Equal(t, "off", cfg.Schedules["backup-logical"], "logical backups run only once a directory is set")
	require.Equal(t, 14*24*time.Hour, cfg.LogicalBackupKeep)

	// flag, then environment, then the config file's scheduler: map
	f := cmdtest.Factory()
	f.Getenv = func(k string) string { return map[string]string{"TENANTCTL_AUDIT_SCHEDULE": "@daily"}[k] }
	f.File = config.File{Settings: config.Settings{Scheduler: map[string]string{"audit_schedule": "@weekly", "reconcile_schedule": "off", "job_timeout": "0"}}}
	require.NoError(t, cmdtest.Execute(t, NewCmdScheduler(f, cmdtest.Capture(&got)), "--rollup-schedule", "@every 30m",
		"--report-schedule", "@daily", "--report-dir", "/srv/reports", "--listen", "-"))
	cfg = got.Config
	require.Equal(t, "@every 30m", cfg.Schedules["rollup"])
	require.Equal(t, "@daily", cfg.Schedules["audit"])
	require.Equal(t, "off", cfg.Schedules["reconcile"])
	require.Equal(t, time.Duration(0), cfg.JobTimeout)
	require.Equal(t, "/srv/reports", cfg.ReportDir)
	require.Equal(t, "-", cfg.Listen)

	// The logical backup job: its schedule, directory and retention, from the file too.
	f = cmdtest.Factory()
	f.Getenv = func(k string) string { return map[string]string{"TENANTCTL_BACKUP_LOGICAL_KEEP": "36h"}[k] }
	f.File = config.File{Settings: config.Settings{Scheduler: map[string]string{"backup_logical_schedule": "30 2 * * *", "backup_logical_dir": "/var/backups/tenantctl"}}}
	require.NoError(t, cmdtest.Execute(t, NewCmdScheduler(f, cmdtest.Capture(&got))))
	require.Equal(t, "30 2 * * *", got.Config.Schedules["backup-logical"])
	require.Equal(t, "/var/backups/tenantctl", got.Config.LogicalBackupDir)
	require.Equal(t, 36*time.Hour, got.Config.LogicalBackupKeep)

	for _, args := range [][]string{{"--rollup-schedule", "sometimes"}, {"--job-retention", "-1h"}, {"--report-schedule", "@daily"}, {"--report-format", "pdf"}, {"x"},
		{"--backup-logical-schedule", "@daily"}, {"--backup-logical-schedule", "@daily", "--backup-logical-dir", "rel/dir"}, {"--backup-logical-keep", "0d"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdScheduler(cmdtest.Factory(), cmdtest.Refuse[Options](t)), args...), validate.ErrInvalid, "%v", args)
	}
	f = cmdtest.Factory()
	f.File = config.File{Settings: config.Settings{Scheduler: map[string]string{"rollup_shedule": "@daily"}}}
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdScheduler(f, cmdtest.Refuse[Options](t))), validate.ErrInvalid, "an unknown setting in the file")
}

func TestProbeFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	// --listen is the scheduler's persistent flag, which probe reads as the scheduler would.
	probe := func(f *cmdutil.Factory, got **ProbeOptions, args ...string) error {
		values := make([]string, len(Settings))
		parent := &cobra.Command{Use: "scheduler"}
		parent.PersistentFlags().StringVar(&values[listenSetting], "listen", schedulerlib.DefaultListen, "")
		parent.AddCommand(NewCmdProbe(f, values, cmdtest.Capture(got)))
		return cmdtest.Execute(t, parent, append([]string{"probe"}, args...)...)
	}
	var got *ProbeOptions
	require.NoError(t, probe(cmdtest.Factory(), &got))
	require.Equal(t, ProbeOptions{Factory: got.Factory, Listen: schedulerlib.DefaultListen}, *got)
	require.NoError(t, probe(cmdtest.Factory(), &got, "--ready", "--listen", "127.0.0.1:9477"))
	require.Equal(t, ProbeOptions{Factory: got.Factory, Listen: "127.0.0.1:9477", Ready: true}, *got)
	f := cmdtest.Factory()
	f.Getenv = func(k string) string { return map[string]string{"TENANTCTL_SCHEDULER_LISTEN": "0.0.0.0:9000"}[k] }
	require.NoError(t, probe(f, &got))
	require.Equal(t, "0.0.0.0:9000", got.Listen)
}
