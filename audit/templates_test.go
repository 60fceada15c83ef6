package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/provisioner"
)

// TestTemplateDriftIsRebuiltNotCloned opens a server's template as its superuser and
// plants a door in it (EXECUTE on a file-reading system function for PUBLIC, a function
// of its own), proves a clone carries both, checks the audit reports the open template
// and its drift, then closes it again as a careful saboteur would: the next tenant
// created there gets a rebuilt template, without the door.
func TestTemplateDriftIsRebuiltNotCloned(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	cs, err := f.store.GetServer(ctx, "pg-a")
	require.NoError(t, err)
	tmpl := cs.TemplateDB
	require.NotEmpty(t, tmpl)
	fp, err := f.store.TemplateFingerprint(ctx, "pg-a", tmpl)
	require.NoError(t, err)
	require.Len(t, fp, 64, "the build records the template's fingerprint")
	// A clone made since has recorded the template's witness: later clones skip the
	// fingerprint, and the sabotage below must still be caught.
	_, witness, err := f.store.TemplateRecord(ctx, "pg-a", tmpl)
	require.NoError(t, err)
	if witness == "" {
		_, err := f.prov.Create(ctx, provisioner.CreateOptions{Slug: "witness", Name: "Witness", Domain: "witness.example", Server: "pg-a"})
		require.NoError(t, err)
		_, witness, err = f.store.TemplateRecord(ctx, "pg-a", tmpl)
		require.NoError(t, err)
	}
	require.NotEmpty(t, witness, "a verified clone records the template's witness")
	a := f.servers[0]

	a.Exec(t, "postgres", "ALTER DATABASE "+tmpl+" ALLOW_CONNECTIONS true")
	a.Exec(t, tmpl, "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO PUBLIC",
		"CREATE FUNCTION public.audit_test_door() RETURNS int LANGUAGE sql AS 'SELECT 1'")
	t.Cleanup(func() { a.Exec(t, "postgres", "DROP DATABASE IF EXISTS audit_test_clone WITH (FORCE)") })
	// A clone carries both.
	a.Exec(t, "postgres", "CREATE DATABASE audit_test_clone TEMPLATE "+tmpl)
	carried := query(t, a.Conn(t, "audit_test_clone"), `SELECT 'grant' FROM pg_proc WHERE oid = 'pg_catalog.pg_read_binary_file(text)'::regprocedure
		AND has_function_privilege('public', oid, 'EXECUTE') UNION ALL SELECT 'door' FROM pg_proc WHERE proname = 'audit_test_door' ORDER BY 1`)
	require.Equal(t, []string{"door", "grant"}, carried)
	a.Exec(t, "postgres", "DROP DATABASE audit_test_clone WITH (FORCE)")

	r := f.audit(noProbes)
	requireViolation(t, r, audit.CheckTemplateConnectable, "", "template "+tmpl, "accepts connections")
	requireViolation(t, r, audit.CheckTemplateConnectable, "", "template "+tmpl, "changed since it was built")

	// Closed again: the audit cannot look inside, but no clone of it is handed out.
	a.Exec(t, "postgres", "ALTER DATABASE "+tmpl+" ALLOW_CONNECTIONS false")
	delta, err := f.prov.Create(ctx, provisioner.CreateOptions{Slug: "delta", Name: "Delta Dairy", Domain: "deltadairy.example", Server: "pg-a"})
	require.NoError(t, err)
	got := query(t, a.Conn(t, delta.Database), `SELECT 'grant' FROM pg_proc WHERE oid = 'pg_catalog.pg_read_binary_file(text)'::regprocedure
		AND has_function_privilege('public', oid, 'EXECUTE') UNION ALL SELECT 'door' FROM pg_proc WHERE proname = 'audit_test_door'`)
	require.Empty(t, got, "the tenant was cloned from a rebuilt template")
	again, witnessAgain, err := f.store.TemplateRecord(ctx, "pg-a", tmpl)
	require.NoError(t, err)
	require.Len(t, again, 64)
	require.NotEqual(t, witness, witnessAgain, "the rebuilt template's row is another version")
	requireClean(t, f.audit(noProbes))
}
