package fleetview_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/demo"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/secret"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 2)) }

// testBundle is a catalog with two servers and the demo's customers, and the view on it.
type testBundle struct {
	store *catalog.Store
	prov  *provisioner.Provisioner
	view  *fleetview.View
	whDSN string // "" when no warehouse is registered
}

// setup builds a fleet of its own; withWarehouse registers a warehouse and rolls the
// customers up into it.
func setup(t *testing.T, withWarehouse bool) *testBundle {
	t.Helper()
	ctx := context.Background()
	env := pgtest.Get(t)
	catDSN := env.Control.SuperDSN(env.Control.NewDatabase(t, "catalog"))
	_, err := catalog.Init(ctx, catDSN)
	require.NoError(t, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(t, err)
	store, err := catalog.Open(ctx, catDSN, box)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	fenv := fleetenv.New(fleetenv.Options{Store: store})
	require.NoError(t, fenv.Start(ctx))
	t.Cleanup(fenv.Stop)
	p := fenv.Provisioner
	for i, name := range []string{"pg-a", "pg-b"} {
		_, err := p.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: env.Servers[i].AdminDSN(t), Capacity: 10})
		require.NoError(t, err)
	}
	b := &testBundle{store: store, prov: p}
	if withWarehouse {
		b.whDSN = env.Control.SuperDSN(env.Control.NewDatabase(t, "warehouse"))
		_, err := p.InitWarehouse(ctx, b.whDSN)
		require.NoError(t, err)
	}
	_, err = demo.Run(ctx, p)
	require.NoError(t, err)
	if withWarehouse {
		_, err := rollup.Run(ctx, rollup.Options{Store: store, Spec: rollup.DefaultSpec()})
		require.NoError(t, err)
	}
	b.view = fleetview.New(fenv, nil, nil)
	return b
}

// warehouseCount counts a tenant's rows of a warehouse table straight from the warehouse.
func (b *testBundle) warehouseCount(t *testing.T, table, tenantID string) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, b.whDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM public."+pgx.Identifier{table}.Sanitize()+" WHERE tenant_id = $1", tenantID).Scan(&n))
	return n
}

func TestOverviewCountsTheCatalog(t *testing.T) {
	t.Parallel()
	b := setup(t, true)
	ctx := context.Background()

	o, err := b.view.Overview(ctx)
	require.NoError(t, err)
	tenants, err := b.store.ListTenants(ctx, catalog.TenantFilter{})
	require.NoError(t, err)
	require.Equal(t, len(demo.Customers), len(tenants))
	require.Equal(t, len(tenants), o.TenantsTotal)
	require.Equal(t, len(tenants), o.Tenants[catalog.StateActive])
	require.True(t, o.Warehouse)
	latest, err := migrations.Latest(migrations.Tenant())
	require.NoError(t, err)
	require.Equal(t, latest, o.LatestVersion)
	require.Nil(t, o.Spares, "no spare counter: the overview omits spares")
	require.Nil(t, o.Audit, "no audit has run")

	used := 0
	require.Len(t, o.Servers, 2)
	for _, s := range o.Servers {
		require.Equal(t, 10, s.Capacity)
		require.Equal(t, s.Capacity-s.Used, s.Free)
		require.Equal(t, s.Used*100/s.Capacity, s.Percent)
		used += s.Used
	}
	require.Equal(t, len(tenants), used, "every tenant counted on its server")

	// A deleted tenant is counted by its state; a purged one leaves the total.
	slug := demo.Customers[0].Slug
	err = b.prov.Delete(ctx, provisioner.DeleteOptions{Slug: slug, Confirm: slug})
	require.NoError(t, err)
	o, err = b.view.Overview(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, o.Tenants[catalog.StateDeleting])
	require.Equal(t, len(tenants), o.TenantsTotal)
	err = b.prov.Delete(ctx, provisioner.DeleteOptions{Slug: slug, Confirm: slug, Purge: true})
	require.NoError(t, err)
	o, err = b.view.Overview(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, o.Tenants[catalog.StatePurged])
	require.Equal(t, len(tenants)-1, o.TenantsTotal, "a purged tenant is not counted")
}

func TestCustomersCarryWarehouseFiguresAndSizes(t *testing.T) {
	t.Parallel()
	b := setup(t, true)
	ctx := context.Background()

	page, err := b.view.Customers(ctx, catalog.TenantSearch{}, true)
	require.NoError(t, err)
	require.Equal(t, len(demo.Customers), page.Total)
	require.Len(t, page.Customers, len(demo.Customers))
	for _, c := range page.Customers {
		require.NotNil(t, c.SizeBytes, c.Slug)
		require.Positive(t, *c.SizeBytes, c.Slug)
		require.NotNil(t, c.Users, c.Slug)
		require.Equal(t, b.warehouseCount(t, "users", c.ID), *c.Users, c.Slug)
		require.NotNil(t, c.Systems, c.Slug)
		require.Equal(t, b.warehouseCount(t, "systems", c.ID), *c.Systems, c.Slug)
		require.NotNil(t, c.OpenIncidents, c.Slug)
		require.NotNil(t, c.LastRollup, c.Slug)
	}

	// Without figures: the catalog alone, nothing read from the warehouse or servers.
	page, err = b.view.Customers(ctx, catalog.TenantSearch{Limit: 1, Sort: "slug"}, false)
	require.NoError(t, err)
	require.Equal(t, len(demo.Customers), page.Total)
	require.Len(t, page.Customers, 1)
	require.Nil(t, page.Customers[0].Users)
	require.Nil(t, page.Customers[0].SizeBytes)

	d, err := b.view.Customer(ctx, page.Customers[0].Slug)
	require.NoError(t, err)
	require.Equal(t, page.Customers[0].Slug, d.Slug)
	require.NotEmpty(t, d.Events, "the create is in the customer's events")
	for _, e := range d.Events {
		require.Contains(t, []string{"", d.ID}, e.TenantID, "only this customer's events")
	}
	require.Len(t, d.Rollup, len(rollup.DefaultSpec().Tables), "one rollup row per table of the spec")
	for _, r := range d.Rollup {
		require.NotNil(t, r.LastRun, r.Table)
		require.Empty(t, r.LastError, r.Table)
	}
	require.Empty(t, d.AuditViolations)

	rep, err := b.view.CustomerReport(ctx, d.Tenant)
	require.NoError(t, err)
	require.NotEmpty(t, rep)

	_, err = b.view.Customer(ctx, "no-such-customer")
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)
}

func TestNoWarehouseLeavesFiguresUnknown(t *testing.T) {
	t.Parallel()
	b := setup(t, false)
	ctx := context.Background()

	_, err := b.view.Warehouse.Pool(ctx)
	require.ErrorIs(t, err, catalog.ErrNoWarehouse, "no warehouse registered: the one answer every user of the pool gets")
	page, err := b.view.Customers(ctx, catalog.TenantSearch{}, true)
	require.NoError(t, err)
	for _, c := range page.Customers {
		require.Nil(t, c.Users, "unknown, not zero: %s", c.Slug)
		require.Nil(t, c.LastRollup, c.Slug)
		require.NotNil(t, c.SizeBytes, "sizes come from the servers: %s", c.Slug)
	}
	d, err := b.view.Customer(ctx, page.Customers[0].Slug)
	require.NoError(t, err)
	require.Empty(t, d.Rollup)
	_, err = b.view.CustomerReport(ctx, d.Tenant)
	require.ErrorIs(t, err, catalog.ErrNoWarehouse)
	o, err := b.view.Overview(ctx)
	require.NoError(t, err)
	require.False(t, o.Warehouse)
}
