package serve_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/serve"
)

// BenchmarkAPITenantList measures GET /api/v1/tenants against a catalog of 1,000
// tenants (catalog rows: the list reads the catalog only, unless figures=true), through
// the whole stack — HTTP, token check, query, JSON — the console's customers page over
// the same catalog (session cookie, query, sizes, HTML), and, as the baseline, the same
// page's catalog query alone over pgx.
//
//	go test -run '^$' -bench APITenantList -benchtime 200x ./serve/
func BenchmarkAPITenantList(b *testing.B) {
	ctx := context.Background()
	env := pgtest.Get(b)
	db := env.Control.NewDatabase(b, "catalog_bench")
	dsn := env.Control.SuperDSN(db)
	_, err := catalog.Init(ctx, dsn)
	require.NoError(b, err)
	box, err := secret.LoadKey("", pgtest.Key())
	require.NoError(b, err)
	store, err := catalog.Open(ctx, dsn, box)
	require.NoError(b, err)
	defer store.Close()
	fenv := fleetenv.New(fleetenv.Options{Store: store})
	require.NoError(b, fenv.Start(ctx))
	defer fenv.Stop()
	p := fenv.Provisioner
	_, err = p.AddServer(ctx, provisioner.AddServerOptions{Name: "pg-a", DSN: env.Servers[0].AdminDSN(b), Capacity: 2000})
	require.NoError(b, err)
	// 1,000 tenants as the catalog records them (no databases: the list does not read them).
	_, err = store.Pool().Exec(ctx, `
		INSERT INTO tenants (id, slug, name, domain, state, server, schema_version, step)
		SELECT translate(lpad(g::text, 10, '0'), '0123456789', 'abcdefghij'), 'customer-' || g, 'Customer ' || g || ' Ltd',
		       'customer' || g || '.example', CASE WHEN g % 10 = 0 THEN 'suspended' ELSE 'active' END, 'pg-a', 1, 'warehouse'
		FROM generate_series(1, 1000) g`)
	require.NoError(b, err)
	_, err = store.Pool().Exec(ctx, `ANALYZE tenants`)
	require.NoError(b, err)
	token, err := store.AddOperator(ctx, "bench", "viewer")
	require.NoError(b, err)
	s, err := serve.New(serve.Options{Env: fenv})
	require.NoError(b, err)
	defer s.Close()
	ts := httptest.NewServer(s)
	defer ts.Close()

	get := func(b *testing.B, path string) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %s", path, resp.Status)
		}
		b.SetBytes(n)
	}
	for _, path := range []string{
		"/api/v1/tenants",                            // the first page, 50 tenants
		"/api/v1/tenants?limit=500",                  // a big page
		"/api/v1/tenants?q=customer-99&sort=name",    // a search
		"/api/v1/tenants?state=suspended&order=desc", // a filter
	} {
		b.Run("api "+path, func(b *testing.B) {
			for b.Loop() {
				get(b, path)
			}
		})
	}
	// The console's customer list, as a logged-in viewer sees it (cookie session).
	jar, err := cookiejar.New(nil)
	require.NoError(b, err)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(ts.URL + "/login")
	require.NoError(b, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindStringSubmatch(string(raw))
	require.NotNil(b, m, "the login form's CSRF token")
	resp, err = browser.PostForm(ts.URL+"/login", url.Values{"csrf": {m[1]}, "login": {"bench"}, "token": {token}, "next": {"/"}})
	require.NoError(b, err)
	resp.Body.Close()
	require.Equal(b, http.StatusSeeOther, resp.StatusCode)
	for _, path := range []string{
		"/customers",                      // the first page, 25 customers
		"/customers?size=100",             // the biggest page
		"/customers?q=customer-99",        // a search
		"/customers?sort=name&order=desc", // a sort
	} {
		b.Run("console "+path, func(b *testing.B) {
			for b.Loop() {
				resp, err := browser.Get(ts.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %s", path, resp.Status)
				}
				b.SetBytes(n)
			}
		})
	}
	b.Run("baseline: the catalog query alone (50 rows, pgx)", func(b *testing.B) {
		for b.Loop() {
			tenants, _, err := store.SearchTenants(ctx, catalog.TenantSearch{Limit: 50})
			if err != nil || len(tenants) != 50 {
				b.Fatal(err, len(tenants))
			}
		}
	})
}
