package scheduler

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tenantctl/tenantctl/catalog"
)

// Count keys the scheduler turns into dedicated metrics when a job reports them.
const (
	// CountRowsCopied is the rollup job's count of rows copied to the warehouse.
	CountRowsCopied = "rows_copied"
	// CountViolations is the audit job's count of violations found.
	CountViolations = "violations"
)

// fleetQueryTimeout bounds the catalog query behind the fleet gauges on each scrape.
const fleetQueryTimeout = 3 * time.Second

// metrics are one scheduler's Prometheus metrics, in a registry of its own so several
// schedulers (tests, embedding programs) never clash on the global one.
type metrics struct {
	reg        *prometheus.Registry
	leader     prometheus.Gauge
	runs       *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	running    *prometheus.GaugeVec
	skips      *prometheus.CounterVec
	rowsCopied prometheus.Counter
	pruned     prometheus.Counter
}

func newMetrics(store *catalog.Store, node string, latest int64, jobs []string, bk *backupCollector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantctl_scheduler_leader",
			Help: "1 while this replica holds the leader lock and runs the jobs, 0 on a standby.",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_scheduler_job_runs_total",
			Help: "Job runs started by this replica, by job and final status (succeeded, failed, cancelled).",
		}, []string{"job", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenantctl_scheduler_job_duration_seconds",
			Help:    "Duration of job runs, by job and final status.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400},
		}, []string{"job", "status"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenantctl_scheduler_job_running",
			Help: "1 while a run of the job is in progress on this replica.",
		}, []string{"job"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantctl_scheduler_overlap_skips_total",
			Help: "Ticks skipped because the job's previous run was still in progress.",
		}, []string{"job"}),
		rowsCopied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenantctl_rollup_rows_copied_total",
			Help: "Rows copied into the warehouse by rollup runs this replica scheduled (sum over replicas; tenantctl_job_last_count has every run's).",
		}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenantctl_scheduler_job_history_pruned_total",
			Help: "Job runs deleted from the catalog's history after the retention period.",
		}),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tenantctl_scheduler_info",
		Help: "Always 1; labels name this replica.",
	}, []string{"node"})
	info.WithLabelValues(node).Set(1)
	if bk == nil {
		bk = &backupCollector{}
	}
	bk.store = store
	m.reg.MustRegister(m.leader, m.runs, m.duration, m.running, m.skips,
		m.rowsCopied, m.pruned, info, buildInfo(),
		&fleetCollector{store: store, latest: latest}, jobCollector(store), serverCollector(store), bk,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series exist from the start, so rate() and absent() work before the first run.
	for _, j := range jobs {
		for _, st := range []string{catalog.JobSucceeded, catalog.JobFailed, catalog.JobCancelled} {
			m.runs.WithLabelValues(j, st)
		}
		m.skips.WithLabelValues(j)
		m.running.WithLabelValues(j)
	}
	return m
}

// observe records a finished run in this replica's counters. What the last run of each
// job did, whoever ran it, comes from the catalog at scrape time (jobCollector).
func (m *metrics) observe(job, status string, elapsed time.Duration, counts map[string]int64) {
	m.runs.WithLabelValues(job, status).Inc()
	m.duration.WithLabelValues(job, status).Observe(elapsed.Seconds())
	if n, ok := counts[CountRowsCopied]; ok && n > 0 {
		m.rowsCopied.Add(float64(n))
	}
}

// fleetCollector reads fleet gauges from the catalog at scrape time, so every replica
// reports the same current numbers, leader or not.
type fleetCollector struct {
	store  *catalog.Store
	latest int64
}

var (
	tenantsDesc = prometheus.NewDesc("tenantctl_tenants",
		"Tenants in the catalog by lifecycle state.", []string{"state"}, nil)
	behindDesc = prometheus.NewDesc("tenantctl_tenants_behind_migrations",
		"Active and suspended tenants whose schema version is below the latest configured tenant migration.", []string{"state"}, nil)
	latestDesc = prometheus.NewDesc("tenantctl_tenant_migrations_latest_version",
		"Latest version of the tenant migrations this replica is configured with.", nil, nil)
	catalogUpDesc = prometheus.NewDesc("tenantctl_scheduler_catalog_up",
		"1 when the catalog answered the last scrape's query, 0 otherwise.", nil, nil)
)

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	describe(ch, tenantsDesc, behindDesc, latestDesc, catalogUpDesc)
}

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- gauge(latestDesc, float64(c.latest))
	byState, behind, err := c.query()
	if err != nil {
		ch <- gauge(catalogUpDesc, 0)
		return
	}
	ch <- gauge(catalogUpDesc, 1)
	for _, st := range []string{catalog.StateProvisioning, catalog.StateActive, catalog.StateSuspended,
		catalog.StateDeleting, catalog.StatePurged, catalog.StateFailed} {
		ch <- gauge(tenantsDesc, float64(byState[st]), st)
	}
	for _, st := range []string{catalog.StateActive, catalog.StateSuspended} {
		ch <- gauge(behindDesc, float64(behind[st]), st)
	}
}

// query counts tenants in one aggregate over the catalog (cheap at 10,000 tenants),
// rather than loading every tenant through the store on each scrape.
func (c *fleetCollector) query() (byState, behind map[string]int64, err error) {
	byState, behind = map[string]int64{}, map[string]int64{}
	err = queryCatalog(c.store, func(rows pgx.Rows) error {
		var state string
		var n, b int64
		if err := rows.Scan(&state, &n, &b); err != nil {
			return err
		}
		byState[state], behind[state] = n, b
		return nil
	}, `
		SELECT state, count(*), count(*) FILTER (WHERE schema_version < $1)
		FROM tenants GROUP BY state`, c.latest)
	if err != nil {
		return nil, nil, err
	}
	return byState, behind, nil
}
