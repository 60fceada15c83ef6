package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/api"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// One tenant server is enough: these tests are about the handlers, not placement.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 1)) }

var (
	docOnce   sync.Once
	theDoc    *openapi3.T
	theRouter routers.Router
	docErr    error
)

// document loads the OpenAPI document with kin-openapi, checks it is valid OpenAPI, and
// returns it with a router that finds the operation of a request.
func document(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	docOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
		if err != nil {
			docErr = err
			return
		}
		if docErr = doc.Validate(context.Background()); docErr != nil {
			return
		}
		doc.Servers = nil // route by path: the document's server URL is an example
		theDoc = doc
		theRouter, docErr = legacy.NewRouter(doc)
	})
	require.NoError(t, docErr)
	return theDoc, theRouter
}

// TestRoutesAreTheDocument needs no PostgreSQL: every route the handler serves is an
// operation of the document with the same least role, and the other way round.
func TestRoutesAreTheDocument(t *testing.T) {
	t.Parallel()
	doc, _ := document(t)
	a := api.New(api.Options{View: &fleetview.View{}})
	served := map[string]bool{}
	for _, rt := range a.Routes() {
		item := doc.Paths.Find(rt.Path)
		require.NotNil(t, item, "%s is not in the document", rt.Path)
		op := item.GetOperation(rt.Method)
		require.NotNil(t, op, "%s %s is not in the document", rt.Method, rt.Path)
		role, _ := op.Extensions["x-role"].(string)
		require.Equal(t, rt.Role, role, "%s %s: least role", rt.Method, rt.Path)
		if rt.Role == "" {
			require.NotNil(t, op.Security, "%s %s needs no token: security: []", rt.Method, rt.Path)
			require.Empty(t, *op.Security)
		}
		served[rt.Method+" "+rt.Path] = true
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			require.True(t, served[method+" "+path], "the document describes %s %s, which is not served", method, path)
		}
	}
}

// server is the API on its own catalog, behind a real HTTP server, with one operator of
// each role. Every answer is checked against the document.
type server struct {
	t       *testing.T
	store   *catalog.Store
	prov    *provisioner.Provisioner
	api     *api.API
	url     string
	tokens  map[string]string
	secrets []string
}

func newServer(t *testing.T, wait time.Duration) *server {
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
	store.Actor = "test-setup"
	fenv := fleetenv.New(fleetenv.Options{Store: store, Node: "api-test"})
	require.NoError(t, fenv.Start(ctx))
	p := fenv.Provisioner
	dsn := env.Servers[0].AdminDSN(t)
	_, err = p.AddServer(ctx, provisioner.AddServerOptions{Name: "pg-a", DSN: dsn, Capacity: 20, Labels: []string{"tier=gold"}})
	require.NoError(t, err)
	s := &server{t: t, store: store, prov: p, tokens: map[string]string{}, secrets: []string{passwordOf(dsn)}}
	for _, role := range catalog.Roles {
		tok, err := store.AddOperator(ctx, "api-"+role, role)
		require.NoError(t, err)
		s.tokens[role] = tok
		s.secrets = append(s.secrets, tok)
	}
	s.api = api.New(api.Options{Env: fenv, View: fleetview.New(fenv, nil, nil), Wait: wait})
	h := httptest.NewServer(s.api)
	t.Cleanup(func() {
		h.Close()
		s.api.Wait() // operations that outlived their requests end before the catalog closes
		fenv.Stop()
	})
	s.url = h.URL
	return s
}

func passwordOf(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	return dsn[colon+1 : at]
}

// call sends one request as role ("" for none) and checks request and answer against
// the document: a request the document allows, and an answer it describes for that
// operation and status. No answer but the DSN route's holds a secret.
// reply is what call keeps of a response (its body is read and closed).
type reply struct {
	StatusCode int
	Header     http.Header
}

func (s *server) call(role, method, path string, body any, hdr ...string) (reply, []byte) {
	t := s.t
	t.Helper()
	var raw []byte
	if body != nil {
		if b, ok := body.(string); ok {
			raw = []byte(b)
		} else {
			var err error
			raw, err = json.Marshal(body)
			require.NoError(t, err)
		}
	}
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(raw))
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	_, router := document(t)
	route, params, err := router.FindRoute(req)
	require.NoError(t, err, "%s %s is in no route of the document", method, path)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	req.Body = io.NopCloser(bytes.NewReader(raw))

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if reqErr != nil {
		// What the document refuses, the server refuses too.
		require.Contains(t, []int{400, 401}, resp.StatusCode, "%s %s: the document refuses the request (%v) but the server answered %d: %s", method, path, reqErr, resp.StatusCode, out)
	}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(out)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}), "%s %s answered %d outside the document: %s", method, path, resp.StatusCode, out)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	if !strings.HasSuffix(path, "/dsn") {
		for _, sec := range s.secrets {
			require.NotContains(t, string(out), sec, "%s %s leaked a secret", method, path)
		}
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, out
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), string(raw))
	return v
}

// TestTenantThroughTheAPI drives one tenant through its life over HTTP, each answer
// checked against the document and against the catalog.
func TestTenantThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newServer(t, time.Minute)
	ctx := context.Background()

	// Authentication and roles.
	resp, raw := s.call("", "GET", "/api/v1/tenants", nil)
	require.Equal(t, 401, resp.StatusCode, string(raw))
	resp, _ = s.call("", "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, 200, resp.StatusCode)
	for _, role := range catalog.Roles {
		resp, raw = s.call(role, "GET", "/api/v1/me", nil)
		require.Equal(t, 200, resp.StatusCode, string(raw))
		require.Equal(t, role, decode[catalog.Operator](t, raw).Role)
	}
	create := map[string]any{"slug": "apione", "name": "API One", "domain": "apione.example", "labels": map[string]string{"tier": "gold"}}
	resp, raw = s.call("viewer", "POST", "/api/v1/tenants", create)
	require.Equal(t, 403, resp.StatusCode, string(raw))
	require.Contains(t, decode[api.Problem](t, raw).Detail, "needs operator")

	// Bad input names the field and changes nothing.
	resp, raw = s.call("operator", "POST", "/api/v1/tenants", map[string]any{"slug": "apione", "name": "API One", "domain": "apione.example", "server": "pg-zz"})
	require.Equal(t, 400, resp.StatusCode, string(raw))
	require.Equal(t, "server", decode[api.Problem](t, raw).Field)
	resp, raw = s.call("operator", "POST", "/api/v1/tenants", create, "Idempotency-Key", "has space")
	require.Equal(t, 400, resp.StatusCode, string(raw))
	require.Equal(t, "Idempotency-Key", decode[api.Problem](t, raw).Field)
	tenants, err := s.store.ListTenants(ctx, catalog.TenantFilter{})
	require.NoError(t, err)
	require.Empty(t, tenants, "bad input creates nothing")

	// Create (its labels pick the server); a retry with the same key replays the answer.
	resp, raw = s.call("operator", "POST", "/api/v1/tenants", create, "Idempotency-Key", "one")
	require.Equal(t, 201, resp.StatusCode, string(raw))
	require.Equal(t, "/api/v1/tenants/apione", resp.Header.Get("Location"))
	created := decode[catalog.Tenant](t, raw)
	require.Equal(t, "active", created.State)
	require.Equal(t, "pg-a", created.Server)
	pw, err := s.store.Credential(ctx, created.ID, "app")
	require.NoError(t, err)
	s.secrets = append(s.secrets, pw)
	resp, again := s.call("operator", "POST", "/api/v1/tenants", create, "Idempotency-Key", "one")
	require.Equal(t, 201, resp.StatusCode)
	require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(raw), string(again))

	// Reads.
	resp, raw = s.call("viewer", "GET", "/api/v1/tenants/apione", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "API One", decode[map[string]any](t, raw)["name"])
	resp, raw = s.call("viewer", "GET", "/api/v1/tenants?q=apione", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Contains(t, string(raw), `"apione"`)
	resp, raw = s.call("viewer", "GET", "/api/v1/tenants/nobody-here", nil)
	require.Equal(t, 404, resp.StatusCode, string(raw))
	resp, raw = s.call("viewer", "GET", "/api/v1/servers", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "pg-a", decode[[]catalog.Server](t, raw)[0].Name)

	// Suspend, resume, and a state the tenant is not in.
	resp, raw = s.call("operator", "POST", "/api/v1/tenants/apione/suspend", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "suspended", decode[catalog.Tenant](t, raw).State)
	resp, raw = s.call("operator", "POST", "/api/v1/tenants/apione/resume", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "active", decode[catalog.Tenant](t, raw).State)
	resp, raw = s.call("admin", "POST", "/api/v1/tenants/apione/cancel-delete", nil)
	require.Equal(t, 409, resp.StatusCode, string(raw))

	// The DSN: admin only; reading it leaves an event naming who read it.
	resp, _ = s.call("operator", "GET", "/api/v1/tenants/apione/dsn", nil)
	require.Equal(t, 403, resp.StatusCode)
	resp, raw = s.call("admin", "GET", "/api/v1/tenants/apione/dsn", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Contains(t, decode[map[string]string](t, raw)["dsn"], pw)
	resp, raw = s.call("viewer", "GET", "/api/v1/tenants/apione/events?limit=1", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	events := decode[[]catalog.Event](t, raw)
	require.Len(t, events, 1)
	require.Equal(t, "tenant.dsn.read", events[0].Action)
	require.Equal(t, "api-admin", events[0].Actor)

	// Delete keeps the database for the grace period; cancel-delete brings it back,
	// suspended until resumed; delete with purge removes it.
	resp, raw = s.call("admin", "DELETE", "/api/v1/tenants/apione", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "deleting", decode[catalog.Tenant](t, raw).State)
	resp, raw = s.call("admin", "POST", "/api/v1/tenants/apione/cancel-delete", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "suspended", decode[catalog.Tenant](t, raw).State)
	resp, raw = s.call("admin", "DELETE", "/api/v1/tenants/apione?purge=true", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "purged", decode[catalog.Tenant](t, raw).State)
	var exists bool
	require.NoError(t, pgtest.Get(t).Servers[0].Conn(t, "postgres").QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, created.Database).Scan(&exists))
	require.False(t, exists, "the purge dropped the tenant database")
	resp, _ = s.call("viewer", "GET", "/api/v1/tenants/apione", nil)
	require.Equal(t, 404, resp.StatusCode)

	// Operators: an admin cannot revoke itself; revoking another ends its token.
	resp, raw = s.call("admin", "DELETE", "/api/v1/operators/api-admin", nil)
	require.Equal(t, 409, resp.StatusCode, string(raw))
	resp, _ = s.call("admin", "DELETE", "/api/v1/operators/api-viewer", nil)
	require.Equal(t, 204, resp.StatusCode)
	resp, _ = s.call("viewer", "GET", "/api/v1/me", nil)
	require.Equal(t, 401, resp.StatusCode)
}

// TestLongOperationsBecomeJobs gives the API a wait shorter than any database round
// trip: a create answers 202 with a job to poll, and the job run records the outcome,
// success or failure, with the HTTP status the request would have had.
func TestLongOperationsBecomeJobs(t *testing.T) {
	t.Parallel()
	s := newServer(t, time.Nanosecond)
	ctx := context.Background()

	poll := func(raw []byte) catalog.JobRun {
		t.Helper()
		acc := decode[map[string]any](t, raw)
		require.Equal(t, "running", acc["status"])
		url, _ := acc["poll"].(string)
		require.True(t, strings.HasPrefix(url, "/api/v1/jobs/"), string(raw))
		var run catalog.JobRun
		require.Eventually(t, func() bool {
			_, raw := s.call("viewer", "GET", url, nil)
			run = decode[catalog.JobRun](t, raw)
			return run.Status != catalog.JobRunning
		}, time.Minute, 20*time.Millisecond)
		return run
	}

	resp, raw := s.call("operator", "POST", "/api/v1/tenants", map[string]any{"slug": "apislow", "name": "Slow", "domain": "apislow.example"})
	require.Equal(t, 202, resp.StatusCode, string(raw))
	require.Equal(t, "/api/v1/tenants/apislow", resp.Header.Get("Location"))
	run := poll(raw)
	require.Equal(t, catalog.JobSucceeded, run.Status, run.Error)
	require.Equal(t, "tenant.create", run.Job)
	require.Equal(t, "api-test", run.Node)
	require.Equal(t, int64(201), run.Counts["http_status"])
	tn, err := s.store.GetTenant(ctx, "apislow")
	require.NoError(t, err)
	require.Equal(t, "active", tn.State)
	pw, err := s.store.Credential(ctx, tn.ID, "app")
	require.NoError(t, err)
	s.secrets = append(s.secrets, pw)

	// A create the provisioner refuses after the request was answered: the job fails
	// with the reason, and nothing is created.
	require.NoError(t, s.store.SetDraining(ctx, "pg-a", true))
	resp, raw = s.call("operator", "POST", "/api/v1/tenants", map[string]any{"slug": "apidrained", "name": "Drained", "domain": "apidrained.example", "server": "pg-a"})
	require.Equal(t, 202, resp.StatusCode, string(raw))
	run = poll(raw)
	require.Equal(t, catalog.JobFailed, run.Status)
	require.Contains(t, run.Error, "draining")
	require.Equal(t, int64(400), run.Counts["http_status"])
	_, err = s.store.GetTenant(ctx, "apidrained")
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)

	resp, raw = s.call("viewer", "GET", "/api/v1/jobs?limit=5", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Len(t, decode[[]catalog.JobRun](t, raw), 2)
}
