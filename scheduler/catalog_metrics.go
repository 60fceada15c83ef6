package scheduler

import (
	"context"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/version"
)

// Metrics that state a fact about the fleet or its jobs are read from the catalog at
// scrape time, not kept in a replica's memory: every replica, leader or standby, reports
// the same truth, a replica that stops leading does not keep reporting stale values, and
// job runs started from the CLI (or the demo) count like scheduled ones.

var (
	jobLastSuccessDesc = prometheus.NewDesc("tenantctl_scheduler_job_last_success_timestamp_seconds",
		"Unix time at which the job last finished successfully, on any node or from the CLI (catalog job history).", []string{"job"}, nil)
	jobLastFinishedDesc = prometheus.NewDesc("tenantctl_job_last_finished_timestamp_seconds",
		"Unix time at which the job's last finished run ended, with its status (catalog job history).", []string{"job", "status"}, nil)
	jobLastCountDesc = prometheus.NewDesc("tenantctl_scheduler_job_last_count",
		"Counts reported by the job's last finished run, on any node or from the CLI, by key (tenants migrated, rows copied, violations…).", []string{"job", "key"}, nil)
	jobRunningDesc = prometheus.NewDesc("tenantctl_jobs_running",
		"Job runs recorded as running in the catalog, on any node or from the CLI.", []string{"job"}, nil)
	violationsDesc = prometheus.NewDesc("tenantctl_audit_violations",
		"Violations found by the last finished audit run, on any node or from the CLI.", nil, nil)
	serverTenantsDesc = prometheus.NewDesc("tenantctl_server_tenants",
		"Tenants placed on the server that are not purged.", []string{"server"}, nil)
	serverCapacityDesc = prometheus.NewDesc("tenantctl_server_capacity",
		"The server's registered capacity in tenants.", []string{"server"}, nil)
	serverDrainingDesc = prometheus.NewDesc("tenantctl_server_draining",
		"1 while the server is draining (takes no new tenants).", []string{"server"}, nil)
	serverSparesDesc = prometheus.NewDesc("tenantctl_server_spares",
		"Spare databases ready in the server's warm pool.", []string{"server"}, nil)
	serverSparesTargetDesc = prometheus.NewDesc("tenantctl_server_spares_target",
		"Spare databases the server's warm pool is meant to keep ready.", []string{"server"}, nil)
)

// describe sends a collector's descriptions.
func describe(ch chan<- *prometheus.Desc, descs ...*prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// gauge is a gauge sample of desc read at scrape time.
func gauge(desc *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
}

// flag is a yes/no gauge's value: 1 or 0.
func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func buildInfo() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantctl_build_info",
		Help: "Always 1; labels say which tenantctl build this replica runs.",
	}, []string{"version", "goversion"})
	g.WithLabelValues(version.String(), version.Go()).Set(1)
	return g
}

// catalogCollector reports series read from the catalog at scrape time: one query,
// whose rows row turns into samples. A failed read leaves the series out:
// tenantctl_scheduler_catalog_up says the catalog did not answer.
type catalogCollector struct {
	store *catalog.Store
	descs []*prometheus.Desc
	query string
	row   func(rows pgx.Rows, ch chan<- prometheus.Metric) error
}

func (c *catalogCollector) Describe(ch chan<- *prometheus.Desc) { describe(ch, c.descs...) }

func (c *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	_ = queryCatalog(c.store, func(rows pgx.Rows) error { return c.row(rows, ch) }, c.query)
}

// jobCollector reads the last run of each job from the catalog's job history.
func jobCollector(store *catalog.Store) *catalogCollector {
	return &catalogCollector{
		store: store,
		descs: []*prometheus.Desc{jobLastSuccessDesc, jobLastFinishedDesc, jobLastCountDesc, jobRunningDesc, violationsDesc},
		// One pass over the job history (kept short by pruning): the last finished run of
		// each job, its last success, and the runs still open.
		query: `
		WITH last AS (
			SELECT DISTINCT ON (job) job, status, finished_at, counts
			FROM job_runs WHERE finished_at IS NOT NULL ORDER BY job, finished_at DESC, id DESC)
		SELECT j.job, l.status, extract(epoch FROM l.finished_at)::float8, l.counts,
		       extract(epoch FROM (SELECT max(finished_at) FROM job_runs s WHERE s.job = j.job AND s.status = 'succeeded'))::float8,
		       (SELECT count(*) FROM job_runs r WHERE r.job = j.job AND r.status = 'running')
		FROM (SELECT DISTINCT job FROM job_runs) j LEFT JOIN last l ON l.job = j.job`,
		row: func(rows pgx.Rows, ch chan<- prometheus.Metric) error {
			var job string
			var status *string
			var finished, success *float64
			var counts map[string]int64
			var running int64
			if err := rows.Scan(&job, &status, &finished, &counts, &success, &running); err != nil {
				return err
			}
			ch <- gauge(jobRunningDesc, float64(running), job)
			if success != nil {
				ch <- gauge(jobLastSuccessDesc, *success, job)
			}
			if status == nil {
				return nil
			}
			ch <- gauge(jobLastFinishedDesc, *finished, job, *status)
			for k, v := range counts {
				ch <- gauge(jobLastCountDesc, float64(v), job, k)
			}
			if n, ok := counts[CountViolations]; ok && job == "audit" {
				ch <- gauge(violationsDesc, float64(n))
			}
			return nil
		},
	}
}

// serverCollector reports each server's placement numbers from the catalog.
func serverCollector(store *catalog.Store) *catalogCollector {
	return &catalogCollector{
		store: store,
		descs: []*prometheus.Desc{serverTenantsDesc, serverCapacityDesc, serverDrainingDesc, serverSparesDesc, serverSparesTargetDesc},
		query: `
		SELECT s.name, s.capacity, s.draining,
		       (SELECT count(*) FROM tenants t WHERE t.server = s.name AND t.state <> 'purged'),
		       (SELECT count(*) FROM spares sp WHERE sp.server = s.name AND sp.state = 'ready'), s.spares
		FROM servers s`,
		row: func(rows pgx.Rows, ch chan<- prometheus.Metric) error {
			var name string
			var capacity, tenants, spares, sparesTarget int64
			var draining bool
			if err := rows.Scan(&name, &capacity, &draining, &tenants, &spares, &sparesTarget); err != nil {
				return err
			}
			ch <- gauge(serverTenantsDesc, float64(tenants), name)
			ch <- gauge(serverCapacityDesc, float64(capacity), name)
			ch <- gauge(serverDrainingDesc, flag(draining), name)
			ch <- gauge(serverSparesDesc, float64(spares), name)
			ch <- gauge(serverSparesTargetDesc, float64(sparesTarget), name)
			return nil
		},
	}
}

// queryCatalog runs query on the catalog within one scrape's time limit and hands each
// row to row, stopping at the first error.
func queryCatalog(store *catalog.Store, row func(pgx.Rows) error, query string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), fleetQueryTimeout)
	defer cancel()
	rows, err := store.Pool().Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MetricNames returns the name of every metric a scheduler exports (without the
// _bucket/_sum/_count series of histograms), for checks of dashboards and alert rules.
func MetricNames() []string {
	m := newMetrics(nil, "node", 0, nil, nil)
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		m.reg.Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		// Desc has no accessor for its name; its String form starts with it.
		s := d.String()
		if _, rest, ok := strings.Cut(s, `fqName: "`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}
