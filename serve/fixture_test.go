package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/demo"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/internal/dbconn"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/migrations"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
	"github.com/tenantctl/tenantctl/secret"
	"github.com/tenantctl/tenantctl/serve"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 2)) }

// fleet is a small working fleet behind a running server: the demo's three customers
// on two servers, rolled up into the warehouse and audited, and one operator of each
// role.
type fleet struct {
	store  *catalog.Store
	env    *fleetenv.Env
	prov   *provisioner.Provisioner
	srv    *serve.Server
	http   *httptest.Server
	tokens map[string]string // by role
	// secrets must never appear in a response (but the DSN route's); tests running in
	// parallel add theirs under mu.
	mu      sync.Mutex
	secrets []string
	whDSN   string
}

var (
	fleetOnce sync.Once
	shared    *fleet
	fleetErr  error
)

// sharedFleet builds the fleet once per test binary: the browser and API tests read it,
// and change only tenants they create themselves.
func sharedFleet(t *testing.T) *fleet {
	t.Helper()
	fleetOnce.Do(func() { shared, fleetErr = newFleet(t) })
	require.NoError(t, fleetErr, "build the test fleet")
	return shared
}

func newFleet(t *testing.T) (*fleet, error) {
	ctx := context.Background()
	env := pgtest.Get(t)
	// Databases made here outlive the first test: the fleet is shared.
	catDB, whDB := "catalog_serve_"+pgtest.RandomSuffix(), "warehouse_serve_"+pgtest.RandomSuffix()
	env.Control.Exec(t, "postgres", "CREATE DATABASE "+catDB, "CREATE DATABASE "+whDB)
	catDSN := env.Control.SuperDSN(catDB)
	if _, err := catalog.Init(ctx, catDSN); err != nil {
		return nil, err
	}
	box, err := secret.LoadKey("", pgtest.Key())
	if err != nil {
		return nil, err
	}
	store, err := catalog.Open(ctx, catDSN, box)
	if err != nil {
		return nil, err
	}
	store.Actor = "test-setup"
	fenv := fleetenv.New(fleetenv.Options{Store: store, Node: "test"})
	if err := fenv.Start(ctx); err != nil {
		return nil, err
	}
	p := fenv.Provisioner
	f := &fleet{store: store, env: fenv, prov: p, tokens: map[string]string{}, whDSN: env.Control.SuperDSN(whDB)}
	for i, name := range []string{"pg-a", "pg-b"} {
		dsn := env.Servers[i].AdminDSN(t)
		f.secrets = append(f.secrets, passwordOf(dsn))
		if _, err := p.AddServer(ctx, provisioner.AddServerOptions{Name: name, DSN: dsn, Capacity: 20, Labels: []string{"zone=eu-" + name[3:]}}); err != nil {
			return nil, err
		}
	}
	f.secrets = append(f.secrets, passwordOf(env.Control.SuperDSN(whDB)))
	if _, err := p.InitWarehouse(ctx, f.whDSN); err != nil {
		return nil, err
	}
	if _, err := demo.Run(ctx, p); err != nil {
		return nil, err
	}
	if err := ageIncidents(ctx, p); err != nil {
		return nil, err
	}
	// A user invited before the demo schema held users to the customer's domain: the
	// warehouse's compliance check finds it.
	if err := appExec(ctx, p, "initech", `INSERT INTO users (email, full_name, role) VALUES ($1, 'Temp Helpdesk', 'member')`, outsideUser); err != nil {
		return nil, err
	}
	// The demo's operator migrations (an SLA column, and users held to the customer's
	// domain) are the fleet's schema, as after 'tenantctl demo'.
	migDir, err := os.MkdirTemp("", "serve-migrations-")
	if err != nil {
		return nil, err
	}
	if err := demo.WriteMigrations(migDir); err != nil {
		return nil, err
	}
	migs, err := migrations.Dir(migDir)
	if err != nil {
		return nil, err
	}
	fenv.UseMigrations(migs)
	// The jobs run as the scheduler runs them, so the overview and the jobs page have
	// real runs to show.
	if _, err := store.RunJob(ctx, "migrate", "sched-1", func(ctx context.Context) (map[string]int64, error) {
		res, err := rollout.Run(ctx, rollout.Options{Store: store, Migrations: p.TenantMigrations})
		return res.Counts(), err
	}); err != nil {
		return nil, err
	}
	if _, err := store.RunJob(ctx, "rollup", "sched-1", func(ctx context.Context) (map[string]int64, error) {
		res, err := rollup.Run(ctx, rollup.Options{Store: store, Spec: rollup.DefaultSpec()})
		return res.Counts(), err
	}); err != nil {
		return nil, err
	}
	if _, err := store.RunJob(ctx, "audit", "sched-1", func(ctx context.Context) (map[string]int64, error) {
		r, err := audit.Run(ctx, audit.Options{Store: store, NoProbes: true, Node: "sched-1"})
		if err != nil {
			return nil, err
		}
		return r.Counts(), r.Err()
	}); err != nil {
		return nil, err
	}
	for _, role := range catalog.Roles {
		tok, err := store.AddOperator(ctx, "test-"+role, role)
		if err != nil {
			return nil, err
		}
		f.tokens[role] = tok
		f.secrets = append(f.secrets, tok)
	}
	tenants, err := store.ListTenants(ctx, catalog.TenantFilter{})
	if err != nil {
		return nil, err
	}
	for _, tn := range tenants {
		pw, err := store.Credential(ctx, tn.ID, "app")
		if err != nil {
			return nil, err
		}
		f.secrets = append(f.secrets, pw)
	}
	f.srv, err = serve.New(serve.Options{Env: fenv, Wait: 2 * time.Minute})
	if err != nil {
		return nil, err
	}
	f.http = httptest.NewServer(f.srv)
	return f, nil
}

// ageIncidents spreads the demo's incidents over past weeks through the tenants' own
// credentials, so the report's weekly figures and SLA breaches have something to show.
func ageIncidents(ctx context.Context, p *provisioner.Provisioner) error {
	for _, slug := range []string{"acme", "globex", "initech"} {
		dsn, err := p.AppDSN(ctx, slug)
		if err != nil {
			return err
		}
		conn, err := dbconn.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, `
			UPDATE incidents SET opened_at = now() - (id * interval '9 days') - interval '3 hours',
			       priority = 1 + (id % 4),
			       status = CASE WHEN id % 3 = 0 THEN 'resolved' ELSE status END,
			       resolved_at = CASE WHEN id % 3 = 0 THEN now() - (id * interval '9 days') + interval '30 hours' END`)
		conn.Close(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// outsideUser is initech's user outside its domain (initech.example).
const outsideUser = "temp.helpdesk@outsourcer.example"

// appExec runs one statement in a tenant database through the tenant's own credentials.
func appExec(ctx context.Context, p *provisioner.Provisioner, slug, sql string, args ...any) error {
	dsn, err := p.AppDSN(ctx, slug)
	if err != nil {
		return err
	}
	conn, err := dbconn.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

func passwordOf(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(err)
	}
	pw, _ := u.User.Password()
	return pw
}

// reply is what a test reads of an answer (its body was read and closed).
type reply struct {
	StatusCode int
	Header     http.Header
}

// Cookies are the cookies the answer set.
func (r reply) Cookies() []*http.Cookie { return (&http.Response{Header: r.Header}).Cookies() }

// call makes an API request as role ("" for none) and checks no secret is in the answer.
func (f *fleet) call(t *testing.T, role, method, path string, body any, hdr ...string) (reply, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			require.NoError(t, err)
			rd = strings.NewReader(string(raw))
		}
	}
	req, err := http.NewRequest(method, f.http.URL+path, rd)
	require.NoError(t, err)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[role])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if !strings.HasSuffix(path, "/dsn") {
		f.noSecret(t, method+" "+path, string(raw))
	}
	f.checkAnswer(t, req, resp.StatusCode, resp.Header, raw)
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, raw
}

func (f *fleet) addSecret(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = append(f.secrets, s)
}

func (f *fleet) secretList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.secrets...)
}

func (f *fleet) noSecret(t *testing.T, where, body string) {
	t.Helper()
	if s := pgtest.Contains(body, f.secretList()...); s != "" {
		t.Fatalf("a secret leaked in %s", where)
	}
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), string(raw))
	return v
}

// warehouseCount counts a tenant's rows in a warehouse table.
func (f *fleet) warehouseCount(t *testing.T, slug, table, where string) int64 {
	t.Helper()
	ctx := context.Background()
	tn, err := f.store.GetTenant(ctx, slug)
	require.NoError(t, err)
	conn, err := dbconn.Connect(ctx, f.whDSN)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()+" WHERE tenant_id = $1"+where, tn.ID).Scan(&n))
	return n
}

func httpServer(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func httptestTLS(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewTLSServer(h)
	t.Cleanup(s.Close)
	return s
}

// drift grants CONNECT on a tenant's database to PUBLIC behind tenantctl's back and runs
// an audit, which finds it; the function it returns undoes the drift and audits again.
func (f *fleet) drift(t *testing.T, slug string) (undo func()) {
	t.Helper()
	ctx := context.Background()
	tn, err := f.store.GetTenant(ctx, slug)
	require.NoError(t, err)
	srv := pgtest.Get(t).Servers[map[string]int{"pg-a": 0, "pg-b": 1}[tn.Server]]
	auditNow := func() {
		_, err := audit.Run(ctx, audit.Options{Store: f.store, NoProbes: true, Node: "test"})
		require.NoError(t, err)
	}
	srv.Exec(t, "postgres", "GRANT CONNECT ON DATABASE "+tn.Database+" TO PUBLIC")
	auditNow()
	return func() {
		srv.Exec(t, "postgres", "REVOKE CONNECT ON DATABASE "+tn.Database+" FROM PUBLIC")
		auditNow()
	}
}
