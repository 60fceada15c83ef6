package rollout

import (
	"context"
	"fmt"
	"slices"

	"github.com/tenantctl/tenantctl/internal/validate"
)

// DownPlan is what [Down] would do, worked out from the catalog without touching the
// tenant's database (--dry-run).
type DownPlan struct {
	Slug   string `json:"slug"`
	ID     string `json:"id"`
	Server string `json:"server"`
	// From is the tenant's version as the catalog records it; To the version it would
	// reach.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// RollBack are the migrations whose Down sections would run, newest first.
	RollBack []File `json:"roll_back"`
}

// PlanDown returns what [Down] would do with o, changing nothing. It reads the tenant's
// version from the catalog; a catalog that lags the database (a run interrupted before
// it recorded the version) shows a plan the real run corrects.
func PlanDown(ctx context.Context, o DownOptions) (DownPlan, error) {
	var pl DownPlan
	if err := o.check(); err != nil {
		return pl, err
	}
	set, err := LoadSet(o.Migrations)
	if err != nil {
		return pl, err
	}
	t, err := migratableTenant(ctx, o.Store, o.Tenant, "migrated")
	if err != nil {
		return pl, err
	}
	pl = DownPlan{Slug: t.Slug, ID: t.ID, Server: t.Server, From: t.SchemaVersion, To: t.SchemaVersion, RollBack: []File{}}
	current := t.SchemaVersion
	switch {
	case current == 0:
		return pl, validate.Errorf("tenant %q has no migration applied: nothing to roll back", t.Slug)
	case o.To != nil && *o.To >= current:
		return pl, fmt.Errorf("tenant %q is at version %d: %w", t.Slug, current, &validate.FieldError{Field: "to", Reason: "must name a lower version"})
	}
	var applied []File
	for _, f := range set.Files {
		if f.Version <= current {
			applied = append(applied, f)
		}
	}
	slices.Reverse(applied)
	for i, f := range applied {
		if o.To == nil && i > 0 {
			break
		}
		if o.To != nil && f.Version <= *o.To {
			break
		}
		pl.RollBack = append(pl.RollBack, f)
	}
	pl.To = 0
	if o.To != nil {
		pl.To = *o.To
	}
	if o.To == nil && len(applied) > 1 {
		pl.To = applied[1].Version
	}
	return pl, nil
}
