package fleetview

import (
	"context"
	"time"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/migrations"
)

// Overview is the fleet at a glance.
type Overview struct {
	Tenants      map[string]int `json:"tenants"`
	TenantsTotal int            `json:"tenants_total"`
	Servers      []ServerUsage  `json:"servers"`
	// Spares is nil when no warm pool reports spare databases.
	Spares        map[string]int    `json:"spares,omitempty"`
	LatestVersion int64             `json:"latest_schema_version"`
	Jobs          []JobSummary      `json:"jobs"`
	Audit         *audit.HistoryRun `json:"audit"`
	Warehouse     bool              `json:"warehouse"`
}

// ServerUsage is a server's capacity and use.
type ServerUsage struct {
	Name            string `json:"name"`
	Capacity        int    `json:"capacity"`
	Used            int    `json:"used"`
	Free            int    `json:"free"`
	Draining        bool   `json:"draining"`
	TemplateVersion *int64 `json:"template_version"`
	// Percent is Used of Capacity, 0-100.
	Percent int `json:"percent"`
}

// JobSummary is the last run of one job.
type JobSummary struct {
	catalog.JobRun
	Duration time.Duration `json:"duration_ns"`
}

// Overview reads the overview: a fixed handful of catalog queries.
func (v *View) Overview(ctx context.Context) (Overview, error) {
	st, err := v.Store.Status(ctx)
	if err != nil {
		return Overview{}, err
	}
	o := Overview{Tenants: st.Tenants, Warehouse: st.Warehouse != nil}
	for state, n := range st.Tenants {
		if state != catalog.StatePurged {
			o.TenantsTotal += n
		}
	}
	servers, err := v.Store.ListServers(ctx)
	if err != nil {
		return o, err
	}
	for _, s := range servers {
		u := ServerUsage{Name: s.Name, Capacity: s.Capacity, Used: s.Tenants, Free: s.Free(), Draining: s.Draining, TemplateVersion: s.TemplateVersion}
		if s.Capacity > 0 {
			u.Percent = min(100, s.Tenants*100/s.Capacity)
		}
		o.Servers = append(o.Servers, u)
	}
	if v.Spares != nil {
		if o.Spares, err = v.Spares.Spares(ctx); err != nil {
			v.Log.Warn("spare databases unavailable", "error", err)
			o.Spares = nil
		}
	}
	if o.LatestVersion, err = migrations.Latest(v.Migrations); err != nil {
		return o, err
	}
	runs, err := v.Store.LastJobRuns(ctx)
	if err != nil {
		return o, err
	}
	for _, j := range runs {
		s := JobSummary{JobRun: j}
		if j.FinishedAt != nil {
			s.Duration = j.FinishedAt.Sub(j.StartedAt)
		}
		o.Jobs = append(o.Jobs, s)
	}
	hist, err := audit.History(ctx, v.Store, 1)
	if err != nil {
		return o, err
	}
	if len(hist) > 0 {
		o.Audit = &hist[0]
	}
	return o, nil
}
