package scheduler

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/tenantctl/tenantctl/backup"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// archiverTimeout bounds reading pg_stat_archiver on every server on one scrape (a
// server that does not answer in time is reported as not read, not waited for).
const archiverTimeout = 5 * time.Second

// archiverConcurrency is how many servers are read at once on a scrape.
const archiverConcurrency = 4

var (
	backupConfiguredDesc = prometheus.NewDesc("tenantctl_backup_configured",
		"1 for each server with pgBackRest backup settings (tenantctl backup configure).", []string{"server"}, nil)
	backupLastDesc = prometheus.NewDesc("tenantctl_backup_last_success_timestamp_seconds",
		"Unix time at which the server's newest backup in its pgBackRest repository finished (catalog, refreshed by backup run and backup list).", []string{"server"}, nil)
	backupMaxAgeDesc = prometheus.NewDesc("tenantctl_backup_max_age_seconds",
		"Age beyond which a server's newest backup is too old: --backup-max-age, or derived from --backup-schedule.", nil, nil)
	archiverUpDesc = prometheus.NewDesc("tenantctl_wal_archiver_up",
		"1 when the server's pg_stat_archiver was read on this scrape (as its admin role), 0 when the server did not answer.", []string{"server"}, nil)
	archivedDesc = prometheus.NewDesc("tenantctl_wal_archived_total",
		"WAL segments the server archived successfully since its statistics were reset (pg_stat_archiver.archived_count).", []string{"server"}, nil)
	archiveFailedDesc = prometheus.NewDesc("tenantctl_wal_archive_failed_total",
		"Failed attempts of the server's archive_command since its statistics were reset (pg_stat_archiver.failed_count).", []string{"server"}, nil)
	lastArchivedDesc = prometheus.NewDesc("tenantctl_wal_last_archived_timestamp_seconds",
		"Unix time of the server's last successful WAL archive (pg_stat_archiver.last_archived_time).", []string{"server"}, nil)
	lastFailedDesc = prometheus.NewDesc("tenantctl_wal_last_failed_timestamp_seconds",
		"Unix time of the server's last failed WAL archive attempt (pg_stat_archiver.last_failed_time).", []string{"server"}, nil)
	archivingFailingDesc = prometheus.NewDesc("tenantctl_wal_archiving_failing",
		"1 while the server's last WAL archive attempt failed (last_failed_time after last_archived_time): WAL piles up in pg_wal and the restorable window stops growing.", []string{"server"}, nil)
)

// backupCollector reports each server's last backup, from the catalog, and its WAL
// archiving, read from the server itself at scrape time.
type backupCollector struct {
	store  *catalog.Store
	server func(ctx context.Context, name string) (*tenantdb.Server, error)
	maxAge time.Duration
}

func (c *backupCollector) Describe(ch chan<- *prometheus.Desc) {
	describe(ch, backupConfiguredDesc, backupLastDesc, backupMaxAgeDesc,
		archiverUpDesc, archivedDesc, archiveFailedDesc, lastArchivedDesc, lastFailedDesc, archivingFailingDesc)
}

func (c *backupCollector) Collect(ch chan<- prometheus.Metric) {
	if c.store == nil {
		return
	}
	if c.maxAge > 0 {
		ch <- gauge(backupMaxAgeDesc, c.maxAge.Seconds())
	}
	ctx, cancel := context.WithTimeout(context.Background(), archiverTimeout)
	defer cancel()
	// A failed catalog read leaves these series out; tenantctl_scheduler_catalog_up says why.
	if settings, err := c.store.ListBackupSettings(ctx); err == nil {
		for _, s := range settings {
			ch <- gauge(backupConfiguredDesc, 1, s.Server)
		}
	}
	if last, err := c.store.LastBackups(ctx); err == nil {
		for server, at := range last {
			ch <- gauge(backupLastDesc, unix(at), server)
		}
	}
	if c.server == nil {
		return
	}
	names, err := c.store.ServerNames(ctx)
	if err != nil {
		return
	}
	type result struct {
		a   backup.Archiver
		err error
	}
	results := make([]result, len(names))
	sem := make(chan struct{}, archiverConcurrency)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			srv, err := c.server(ctx, name)
			if err == nil {
				results[i].a, err = backup.ReadArchiver(ctx, srv)
			}
			results[i].err = err
		}()
	}
	wg.Wait()
	for i, name := range names {
		r := results[i]
		if r.err != nil {
			ch <- gauge(archiverUpDesc, 0, name)
			continue
		}
		ch <- gauge(archiverUpDesc, 1, name)
		ch <- prometheus.MustNewConstMetric(archivedDesc, prometheus.CounterValue, float64(r.a.ArchivedCount), name)
		ch <- prometheus.MustNewConstMetric(archiveFailedDesc, prometheus.CounterValue, float64(r.a.FailedCount), name)
		if r.a.LastArchivedTime != nil {
			ch <- gauge(lastArchivedDesc, unix(*r.a.LastArchivedTime), name)
		}
		if r.a.LastFailedTime != nil {
			ch <- gauge(lastFailedDesc, unix(*r.a.LastFailedTime), name)
		}
		ch <- gauge(archivingFailingDesc, flag(r.a.Failing), name)
	}
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// BackupMaxAge is the age past which a server's newest backup counts as too old when
// backups run on schedule: the longest gap between two of the schedule's next firings,
// plus half of it (at least an hour) for the backup to run and finish. With a daily
// schedule that is 36 hours: one missed backup raises the alert half a day later.
// A disabled or invalid schedule yields 0 (no threshold).
func BackupMaxAge(schedule string) time.Duration {
	s, err := ParseSchedule(schedule)
	if err != nil || s == nil {
		return 0
	}
	return maxAgeOf(s, time.Now())
}

func maxAgeOf(s cron.Schedule, from time.Time) time.Duration {
	// The gaps vary for schedules such as weekdays only; eight firings span a week of
	// daily ones.
	var gaps []time.Duration
	prev := s.Next(from)
	for range 8 {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		gaps = append(gaps, next.Sub(prev))
		prev = next
	}
	if len(gaps) == 0 {
		return 0
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] > gaps[j] })
	return gaps[0] + max(gaps[0]/2, time.Hour)
}
