package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/tenantdb"
)

// TestSparesAreKnownAndInert: the warm pool's spare databases are not orphans, and a
// spare that can log in, has a password or holds rows is a violation.
func TestSparesAreKnownAndInert(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	require.NoError(t, f.store.SetSpares(ctx, "pg-a", 2))
	_, err := f.prov.RefillPool(ctx, "", false)
	require.NoError(t, err)
	noProbes := func(o *audit.Options) { o.NoProbes = true }
	r := f.audit(noProbes)
	requireClean(t, r)
	evaluated := 0
	for _, s := range r.Summary {
		if s.Check == audit.CheckSpare {
			evaluated = s.Evaluated
		}
	}
	require.Equal(t, 2, evaluated, "both spares are checked")

	spares, err := f.store.ListSpares(ctx, "pg-a")
	require.NoError(t, err)
	require.Len(t, spares, 2)
	sp := spares[0]
	pgA := f.servers[0]
	pgA.Exec(t, "postgres", "ALTER ROLE "+tenantdb.AppRole(sp.ID)+" LOGIN PASSWORD 'sneaky-password-1'")
	r = f.audit(noProbes)
	v := requireViolation(t, r, audit.CheckSpare, "", tenantdb.Database(sp.ID), "can log in")
	require.Equal(t, "pg-a", v.Server)
	require.Contains(t, r.Notes[0]+strings.Join(r.Notes, " "), "pg_authid", "the least-privilege admin cannot see passwords, and says so")
	requireOnly(t, r, audit.CheckSpare)
	pgA.Exec(t, "postgres", "ALTER ROLE "+tenantdb.AppRole(sp.ID)+" NOLOGIN PASSWORD NULL")

	pgA.Exec(t, tenantdb.Database(sp.ID), "INSERT INTO systems (name, kind) VALUES ('planted', 'server')")
	r = f.audit(noProbes)
	requireViolation(t, r, audit.CheckSpare, "", tenantdb.Database(sp.ID), "holds rows in public.systems")
	requireOnly(t, r, audit.CheckSpare)

	// Claimed and refilled: still clean. (The audit reads relation sizes, as a
	// read-only session without the owner's rights must: the deleted row's page goes
	// once vacuumed.)
	pgA.Exec(t, tenantdb.Database(sp.ID), "DELETE FROM systems", "VACUUM systems")
	_, err = f.prov.RefillPool(ctx, "", false)
	require.NoError(t, err)
	requireClean(t, f.audit(noProbes))
	spares, err = f.store.ListSpares(ctx, "")
	require.NoError(t, err)
	for _, s := range spares {
		require.Equal(t, catalog.SpareReady, s.State)
	}
}
