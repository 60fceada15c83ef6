package mover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// EvacuateOptions describe an evacuation.
type EvacuateOptions struct {
	// Server is the server to empty.
	Server string
	// To restricts the targets to these servers; empty means every server that is not
	// draining, by placement rules.
	To []string
	// Options are the fleet knobs: Concurrency bounds the moves running at once
	// (default 2, at most 64); PerServer bounds those writing to one target server
	// (default, and at most, Concurrency); Progress is told about each tenant moved.
	// Tenant must be empty: an evacuation moves every tenant of the server.
	fleet.Options
	// KeepSource is passed to each move.
	KeepSource *time.Duration
	DryRun     bool
	// OnMove, when set, is called after each tenant's move, on the calling goroutine.
	OnMove func(Outcome)
}

// Evacuation limits.
const (
	DefaultEvacuateConcurrency = 2
	MaxEvacuateConcurrency     = 64
)

// Validate checks the options without touching anything.
func (o *EvacuateOptions) Validate() error {
	if err := validate.ServerName(o.Server); err != nil {
		return err
	}
	for _, s := range o.To {
		if err := validate.ServerName(s); err != nil {
			return err
		}
		if s == o.Server {
			return validate.Errorf("target %s is the server being evacuated", s)
		}
	}
	if o.Tenant != "" {
		return validate.Field("tenant", o.Tenant, "an evacuation moves every tenant of the server")
	}
	// The per-target bound defaults to, and never exceeds, the overall one.
	o.Defaults(fleet.Limits{Total: DefaultEvacuateConcurrency})
	if o.PerServer == 0 || o.PerServer > o.Concurrency {
		o.PerServer = o.Concurrency
	}
	if err := o.Options.Validate(); err != nil {
		return err
	}
	if o.Concurrency > MaxEvacuateConcurrency {
		return validate.Field("concurrency", o.Concurrency, "use 1 to %d", MaxEvacuateConcurrency)
	}
	if err := checkKeep(o.KeepSource, "source retention"); err != nil {
		return err
	}
	return nil
}

// Outcome is one tenant's result in an evacuation.
type Outcome struct {
	Slug     string        `json:"slug"`
	From     string        `json:"from"`
	To       string        `json:"to,omitempty"`
	Status   string        `json:"status"` // planned, moved, failed, skipped
	Error    string        `json:"error,omitempty"`
	Bytes    int64         `json:"bytes,omitempty"`
	Downtime time.Duration `json:"downtime_ns,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// EvacuateResult is the outcome of an evacuation.
type EvacuateResult struct {
	Server   string        `json:"server"`
	Tenants  []Outcome     `json:"tenants"`
	Moved    int           `json:"moved"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration_ns"`
	// Empty is true when no tenant is left on the server: `server remove` will succeed.
	Empty bool `json:"empty"`
}

// Evacuate drains a server and moves every tenant off it, a few at a time, each to the
// target that placement picks (labels, free capacity) among opts.To or every server
// not draining. An interrupted move is finished towards its recorded target. One
// tenant's failure never stops the others; a rerun picks up whatever is still on the
// server. The error is a [*fleet.PartialError] when some tenants could not be moved.
func (m *Mover) Evacuate(ctx context.Context, o EvacuateOptions) (EvacuateResult, error) {
	start := time.Now()
	res := EvacuateResult{Server: o.Server, Tenants: []Outcome{}}
	if err := o.Validate(); err != nil {
		return res, err
	}
	st := m.Store
	srv, err := st.GetServer(ctx, o.Server)
	if err != nil {
		return res, err
	}
	servers, err := st.ListServers(ctx)
	if err != nil {
		return res, err
	}
	byName := map[string]catalog.Server{}
	for _, s := range servers {
		byName[s.Name] = s
	}
	for _, name := range o.To {
		if _, ok := byName[name]; !ok {
			return res, validate.Invalid(fmt.Errorf("server %q: %w", name, catalog.ErrServerNotFound))
		}
	}
	if !o.DryRun && !srv.Draining {
		if err := st.SetDraining(ctx, o.Server, true); err != nil {
			return res, err
		}
		fpEvacuateDraining.Hit()
	}
	tenants, err := st.ListTenants(ctx, catalog.TenantFilter{Server: o.Server})
	if err != nil {
		return res, err
	}
	open, err := st.ListMoves(ctx, catalog.MoveFilter{Source: o.Server, Statuses: []string{catalog.MoveMoving}})
	if err != nil {
		return res, err
	}
	resumeTo := map[string]string{}
	for _, mv := range open {
		resumeTo[mv.TenantID] = mv.Target
	}

	pl := &planner{free: map[string]int{}, servers: byName, allowed: o.To, from: o.Server}
	for _, s := range servers {
		pl.free[s.Name] = s.Free()
	}
	type job struct {
		t  catalog.Tenant
		to string
	}
	var jobs []job
	for _, t := range tenants {
		out := Outcome{Slug: t.Slug, From: o.Server}
		switch {
		case resumeTo[t.ID] != "":
			jobs = append(jobs, job{t, resumeTo[t.ID]})
			continue
		case t.State != catalog.StateActive && t.State != catalog.StateSuspended:
			out.Status, out.Error = "failed", fmt.Sprintf("tenant is %s: finish or purge it first (tenantctl reconcile, tenantctl tenant purge)", t.State)
			res.Tenants = append(res.Tenants, out)
			continue
		}
		to, err := pl.pick(t)
		if err != nil {
			out.Status, out.Error = "failed", err.Error()
			res.Tenants = append(res.Tenants, out)
			continue
		}
		jobs = append(jobs, job{t, to})
	}
	if o.DryRun {
		for _, j := range jobs {
			res.Tenants = append(res.Tenants, Outcome{Slug: j.t.Slug, From: o.Server, To: j.to, Status: "planned"})
		}
		return m.finishEvacuate(ctx, res, start, nil)
	}

	// Moves fan out like every fleet operation: round-robin over the targets, bounded
	// overall and per target server (where the restores write).
	var outcomes []Outcome
	rep := o.Progress.Start(len(jobs))
	defer rep.Close()
	notStarted := fleet.Dispatch(ctx, jobs, func(j job) string { return j.to }, o.Limits(),
		func(ctx context.Context, j job) Outcome {
			r, err := m.Move(ctx, MoveOptions{Slug: j.t.Slug, To: j.to, KeepSource: o.KeepSource})
			out := Outcome{Slug: j.t.Slug, From: o.Server, To: j.to, Status: "moved", Bytes: r.Bytes, Downtime: r.Downtime, Duration: r.Duration}
			if err != nil {
				out.Status, out.Error = "failed", secret.Scrub(err.Error())
				pl.release(j.to)
			}
			return out
		},
		func(_ job, out Outcome) bool {
			if out.Status == "moved" {
				fpEvacuateMoved.Hit()
			}
			outcomes = append(outcomes, out)
			var err error
			if out.Error != "" {
				err = errors.New(out.Error)
			}
			rep.Done(out.Slug, err)
			if o.OnMove != nil {
				o.OnMove(out)
			}
			return false
		})
	for _, j := range notStarted {
		outcomes = append(outcomes, Outcome{Slug: j.t.Slug, From: o.Server, To: j.to, Status: "skipped", Error: "not started: the run was cancelled"})
	}
	res.Tenants = append(res.Tenants, outcomes...)
	// A move killed after its switch is no longer on this server's list, but it may
	// not have resumed its tenant or dropped its expired source copy yet: finish those
	// here too, so a rerun converges without waiting for reconcile.
	switched, err := st.ListMoves(ctx, catalog.MoveFilter{Source: o.Server, Statuses: []string{catalog.MoveSwitched}})
	if err != nil {
		return res, err
	}
	for _, mv := range switched {
		expired := mv.KeepSourceUntil != nil && !time.Now().Before(*mv.KeepSourceUntil)
		if mv.ResumedAt == nil || expired {
			if err := m.settle(ctx, mv); err != nil {
				m.Log.Warn("could not finish an earlier move off the server; reconcile retries it", "tenant", mv.Slug, "error", secret.Scrub(err.Error()))
			}
		}
	}
	return m.finishEvacuate(ctx, res, start, nil)
}

func (m *Mover) finishEvacuate(ctx context.Context, res EvacuateResult, start time.Time, _ error) (EvacuateResult, error) {
	sort.Slice(res.Tenants, func(i, j int) bool { return res.Tenants[i].Slug < res.Tenants[j].Slug })
	pe := &fleet.PartialError{}
	for _, t := range res.Tenants {
		switch t.Status {
		case "moved":
			res.Moved++
			pe.Succeeded = append(pe.Succeeded, t.Slug)
		case "failed":
			res.Failed++
			pe.Fail(t.Slug, errors.New(t.Error))
		case "skipped":
			res.Failed++
			pe.Skipped = append(pe.Skipped, t.Slug)
			pe.Reason = ctx.Err()
		}
	}
	left, err := m.Store.ListTenants(ctx, catalog.TenantFilter{Server: res.Server})
	if err != nil {
		return res, err
	}
	res.Empty = len(left) == 0
	res.Duration = time.Since(start)
	return res, pe.Err()
}

// planner picks targets for an evacuation, keeping count of the places it handed out.
type planner struct {
	mu      sync.Mutex
	free    map[string]int
	servers map[string]catalog.Server
	allowed []string
	from    string
}

// pick returns the allowed, non-draining server with the most free places whose labels
// include the tenant's (ties to the first by name), and takes a place on it.
func (p *planner) pick(t catalog.Tenant) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.servers))
	for n := range p.servers {
		names = append(names, n)
	}
	sort.Strings(names)
	best := ""
	for _, n := range names {
		s := p.servers[n]
		if n == p.from || (len(p.allowed) > 0 && !slices.Contains(p.allowed, n)) || p.free[n] <= 0 {
			continue
		}
		if s.Draining && len(p.allowed) == 0 {
			continue // explicit targets may include a draining server; placement never picks one
		}
		if !labelsMatch(s.Labels, t.Labels) {
			continue
		}
		if best == "" || p.free[n] > p.free[best] {
			best = n
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: no server with free capacity and labels %v to move it to", provisioner.ErrNoServerFits, t.Labels)
	}
	p.free[best]--
	return best, nil
}

func (p *planner) release(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free[name]++
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
