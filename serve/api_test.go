package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/api"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/pglock"
	"github.com/tenantctl/tenantctl/serve"
)

// TestOpenAPIMatchesRoutes keeps the OpenAPI document in the repository and the routes
// the API serves in agreement: same paths, same methods, same least role.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	raw, err := os.ReadFile("../api/openapi.json")
	require.NoError(t, err)
	require.Equal(t, string(raw), string(api.OpenAPI()), "the embedded document is the file in the repository")
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	var inDoc, inCode []string
	for path, ops := range doc.Paths {
		for method, body := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				Role string `json:"x-role"`
			}
			require.NoError(t, json.Unmarshal(body, &op))
			inDoc = append(inDoc, strings.ToUpper(method)+" "+path+" "+op.Role)
		}
	}
	a := api.New(api.Options{View: sharedFleet(t).srv.View})
	for _, r := range a.Routes() {
		inCode = append(inCode, r.Method+" "+r.Path+" "+r.Role)
	}
	sort.Strings(inDoc)
	sort.Strings(inCode)
	require.Equal(t, inCode, inDoc)
}

// TestAPIRolesOnEveryRoute calls every route without a token, with a bad one, and as
// each role: a role below the route's gets 403, at or above it never 401/403. Path
// parameters name nothing that exists, so no call changes anything.
func TestAPIRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	fill := strings.NewReplacer("{slug}", "no-such-tenant", "{login}", "nobody", "{name}", "no-such-server", "{id}", "999999")
	for _, r := range f.srv.API.Routes() {
		path := fill.Replace(r.Path)
		body := ""
		if r.Method == "POST" {
			body = "{}"
		}
		if r.Role == "" {
			resp, _ := f.call(t, "", r.Method, path, nil)
			require.Equal(t, 200, resp.StatusCode, path)
			continue
		}
		resp, raw := f.call(t, "", r.Method, path, body)
		require.Equal(t, 401, resp.StatusCode, "%s %s without a token: %s", r.Method, path, raw)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.Equal(t, `Bearer realm="tenantctl"`, resp.Header.Get("WWW-Authenticate"))
		resp, _ = f.call(t, "", r.Method, path, body, "Authorization", "Bearer tctl_not-a-real-token")
		require.Equal(t, 401, resp.StatusCode)
		for _, role := range catalog.Roles {
			resp, raw := f.call(t, role, r.Method, path, body)
			if catalog.RoleRank(role) < catalog.RoleRank(r.Role) {
				require.Equal(t, 403, resp.StatusCode, "%s %s as %s: %s", r.Method, path, role, raw)
				p := decode[api.Problem](t, raw)
				require.Equal(t, 403, p.Status)
				require.Contains(t, p.Detail, "needs "+r.Role)
				continue
			}
			require.NotContains(t, []int{401, 403, 500}, resp.StatusCode, "%s %s as %s: %s", r.Method, path, role, raw)
		}
	}
	// Unknown routes are problems too.
	resp, raw := f.call(t, "viewer", "GET", "/api/v1/nope", nil)
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, 404, decode[api.Problem](t, raw).Status)
}

func TestAPIReads(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	resp, raw := f.call(t, "viewer", "GET", "/api/v1/me", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, map[string]string{"login": "test-viewer", "role": "viewer"}, decode[map[string]string](t, raw))

	type page struct {
		Tenants []map[string]any `json:"tenants"`
		Total   int              `json:"total"`
	}
	_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants?q=CORP&sort=name&order=desc&figures=true", nil)
	pg := decode[page](t, raw)
	require.Equal(t, 2, pg.Total, "Acme Corporation and Globex Corporation")
	require.Equal(t, "globex", pg.Tenants[0]["slug"])
	for _, field := range []string{"slug", "id", "name", "domain", "database", "server", "state", "schema_version", "users", "systems", "open_incidents", "size_bytes", "last_rollup"} {
		require.Contains(t, pg.Tenants[0], field)
	}
	require.EqualValues(t, f.warehouseCount(t, "globex", "users", ""), pg.Tenants[0]["users"])
	require.EqualValues(t, f.warehouseCount(t, "globex", "incidents", " AND status IN ('open', 'in_progress')"), pg.Tenants[0]["open_incidents"])
	require.Greater(t, pg.Tenants[0]["size_bytes"], float64(1<<20))

	_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants?server=pg-a&limit=1&offset=0", nil)
	pg = decode[page](t, raw)
	require.Len(t, pg.Tenants, 1)
	require.Equal(t, "pg-a", pg.Tenants[0]["server"])

	// Bad input: 400, a problem naming the parameter.
	for param, q := range map[string]string{"sort": "sort=password", "state": "state=zombie", "limit": "limit=0", "offset": "offset=-1", "order": "order=up", "figures": "figures=maybe"} {
		resp, raw := f.call(t, "viewer", "GET", "/api/v1/tenants?"+q, nil)
		require.Equal(t, 400, resp.StatusCode, q)
		p := decode[api.Problem](t, raw)
		require.Equal(t, param, p.Field, q)
		require.Equal(t, "/api/v1/tenants", p.Instance)
	}

	_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants/acme", nil)
	detail := decode[map[string]any](t, raw)
	require.Equal(t, "acme", detail["slug"])
	require.NotEmpty(t, detail["events"])
	require.EqualValues(t, f.warehouseCount(t, "acme", "systems", ""), detail["systems"])
	resp, _ = f.call(t, "viewer", "GET", "/api/v1/tenants/nosuch", nil)
	require.Equal(t, 404, resp.StatusCode)
	resp, raw = f.call(t, "viewer", "GET", "/api/v1/tenants/Not_A_Slug", nil)
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "slug", decode[api.Problem](t, raw).Field)

	_, raw = f.call(t, "viewer", "GET", "/api/v1/overview", nil)
	ov := decode[map[string]any](t, raw)
	require.GreaterOrEqual(t, ov["tenants_total"], float64(3))
	require.NotNil(t, ov["audit"])

	_, raw = f.call(t, "viewer", "GET", "/api/v1/servers", nil)
	servers := decode[[]map[string]any](t, raw)
	require.Len(t, servers, 2)
	require.NotContains(t, string(raw), "dsn")

	_, raw = f.call(t, "viewer", "GET", "/api/v1/jobs", nil)
	jobs := decode[[]map[string]any](t, raw)
	require.NotEmpty(t, jobs)
	_, raw = f.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/jobs/%v", jobs[0]["id"]), nil)
	require.Equal(t, jobs[0]["job"], decode[map[string]any](t, raw)["job"])

	_, raw = f.call(t, "viewer", "GET", "/api/v1/audit/runs", nil)
	runs := decode[[]map[string]any](t, raw)
	require.NotEmpty(t, runs)
	id := runs[0]["id"]
	_, raw = f.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/audit/runs/%v", id), nil)
	run := decode[map[string]any](t, raw)
	require.Equal(t, runs[0]["report_sha256"], run["report_sha256"])
	require.Contains(t, run, "violations_found")
	resp, raw = f.call(t, "viewer", "GET", fmt.Sprintf("/api/v1/audit/runs/%v?format=markdown", id), nil)
	require.Equal(t, "text/markdown; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, string(raw), "# Tenant isolation audit, run #")
	require.Contains(t, string(raw), runs[0]["report_sha256"])

	// The report: the warehouse's figures for this customer only.
	_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants/acme/report", nil)
	rep := decode[struct {
		Sections []struct {
			Name    string     `json:"name"`
			Columns []string   `json:"columns"`
			Rows    [][]string `json:"rows"`
		} `json:"sections"`
	}](t, raw)
	require.Equal(t, "summary", rep.Sections[0].Name)
	require.Equal(t, fmt.Sprint(f.warehouseCount(t, "acme", "users", "")), rep.Sections[0].Rows[0][0])
	require.Len(t, rep.Sections[1].Rows, 12, "12 weeks")
	for format, ctype := range map[string]string{"md": "text/markdown", "html": "text/html", "csv": "text/csv"} {
		resp, raw := f.call(t, "viewer", "GET", "/api/v1/tenants/acme/report?format="+format, nil)
		require.Equal(t, 200, resp.StatusCode)
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), ctype), format)
		require.Contains(t, string(raw), "Rocket skates recall portal down", "acme's P1 SLA breach")
		require.NotContains(t, string(raw), "VPN drops", "one customer's report holds nothing of another's")
	}
	resp, raw = f.call(t, "viewer", "GET", "/api/v1/tenants/acme/report?format=pdf", nil)
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "format", decode[api.Problem](t, raw).Field)
}

func TestAPITenantLifecycle(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	ctx := context.Background()
	count := func() int {
		ts, err := f.store.ListTenants(ctx, catalog.TenantFilter{States: []string{"provisioning", "active", "suspended", "deleting", "failed", "purged"}})
		require.NoError(t, err)
		n := 0
		for _, tn := range ts {
			if strings.HasPrefix(tn.Slug, "apitest") {
				n++
			}
		}
		return n
	}
	before := count()
	// Bad input: 400 naming the field, and nothing changed.
	for field, body := range map[string]string{
		"slug":          `{"slug": "Bad Slug", "name": "X", "domain": "x.example"}`,
		"name":          `{"slug": "apitest", "name": "", "domain": "x.example"}`,
		"domain":        `{"slug": "apitest", "name": "X", "domain": "not a domain"}`,
		"contact_email": `{"slug": "apitest", "name": "X", "domain": "x.example", "contact_email": "a@elsewhere.example"}`,
		"server":        `{"slug": "apitest", "name": "X", "domain": "x.example", "server": "Bad Server"}`,
		"labels":        `{"slug": "apitest", "name": "X", "domain": "x.example", "labels": {"Bad Key": "v"}}`,
		"bogus":         `{"slug": "apitest", "name": "X", "domain": "x.example", "bogus": 1}`,
		"name ":         `{"slug": "apitest", "name": 7, "domain": "x.example"}`,
	} {
		resp, raw := f.call(t, "operator", "POST", "/api/v1/tenants", body)
		require.Equal(t, 400, resp.StatusCode, "%s: %s", field, raw)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		p := decode[api.Problem](t, raw)
		require.Equal(t, strings.TrimSpace(field), p.Field, string(raw))
		require.Equal(t, 400, p.Status)
		require.NotEmpty(t, p.Detail)
	}
	resp, raw := f.call(t, "operator", "POST", "/api/v1/tenants", "not json")
	require.Equal(t, 400, resp.StatusCode, string(raw))
	require.Equal(t, before, count(), "bad input changes nothing")

	// Create, with an idempotency key: a retry gets the same answer, not a second tenant.
	body := map[string]any{"slug": "apitest", "name": "API Test Ltd", "domain": "apitest.example", "labels": map[string]string{"zone": "eu-b"}}
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants", body, "Idempotency-Key", "k-1")
	require.Equal(t, 201, resp.StatusCode, string(raw))
	require.Equal(t, "/api/v1/tenants/apitest", resp.Header.Get("Location"))
	created := decode[catalog.Tenant](t, raw)
	require.Equal(t, "active", created.State)
	require.Equal(t, map[string]string{"zone": "eu-b"}, created.Labels)
	resp, again := f.call(t, "operator", "POST", "/api/v1/tenants", body, "Idempotency-Key", "k-1")
	require.Equal(t, 201, resp.StatusCode)
	require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(raw), string(again))
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants", map[string]any{"slug": "apitest2", "name": "X", "domain": "apitest2.example"}, "Idempotency-Key", "k-1")
	require.Equal(t, 422, resp.StatusCode, string(raw))
	// The slug is taken: 409.
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants", body, "Idempotency-Key", "k-2")
	require.Equal(t, 409, resp.StatusCode, string(raw))
	require.Contains(t, decode[api.Problem](t, raw).Detail, "already taken")
	require.Equal(t, before+1, count())

	// The event log names the operator, not the process.
	events, err := f.store.ListEvents(ctx, "apitest", 10)
	require.NoError(t, err)
	require.Equal(t, "tenant.active", events[0].Action)
	for _, e := range events {
		require.Equal(t, "test-operator", e.Actor, e.Action)
	}

	// Suspend and resume; a busy tenant (another process holds its lock) is 409.
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/suspend", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "suspended", decode[catalog.Tenant](t, raw).State)
	unlock, err := pglock.TryAcquire(ctx, f.store.Pool(), "tenant:"+created.ID)
	require.NoError(t, err)
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/resume", nil)
	require.Equal(t, 409, resp.StatusCode, string(raw))
	unlock()
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/resume", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "active", decode[catalog.Tenant](t, raw).State)

	// Access grants.
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/access", map[string]any{"login": "Bad!", "level": "read"})
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "login", decode[api.Problem](t, raw).Field)
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/access", map[string]any{"login": "alice", "level": "admin"})
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "level", decode[api.Problem](t, raw).Field)
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/access", map[string]any{"login": "alice", "expires": "yesterday"})
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "expires", decode[api.Problem](t, raw).Field)
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/access", map[string]any{"login": "alice", "level": "read", "expires": "2h", "reason": "INC-1"})
	require.Equal(t, 201, resp.StatusCode, string(raw))
	require.Equal(t, "alice", decode[catalog.AccessGrant](t, raw).Login)
	_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants/apitest/access", nil)
	grants := decode[[]catalog.AccessGrant](t, raw)
	require.Len(t, grants, 1)
	require.Equal(t, "test-operator", grants[0].GrantedBy)
	resp, _ = f.call(t, "operator", "DELETE", "/api/v1/tenants/apitest/access/alice", nil)
	require.Equal(t, 204, resp.StatusCode)
	resp, _ = f.call(t, "operator", "DELETE", "/api/v1/tenants/apitest/access/alice", nil)
	require.Equal(t, 404, resp.StatusCode)

	// Migrate and roll up one tenant.
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/migrate", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	resp, raw = f.call(t, "operator", "POST", "/api/v1/tenants/apitest/rollup", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))

	// The DSN: admin only, and the one answer that holds a secret.
	resp, raw = f.call(t, "admin", "GET", "/api/v1/tenants/apitest/dsn", nil)
	require.Equal(t, 200, resp.StatusCode)
	pw, err := f.store.Credential(ctx, created.ID, "app")
	require.NoError(t, err)
	require.Contains(t, decode[map[string]string](t, raw)["dsn"], pw)
	f.addSecret(pw)

	// Purge before delete is a wrong state; delete, then purge.
	resp, _ = f.call(t, "admin", "POST", "/api/v1/tenants/apitest/purge", nil)
	require.Equal(t, 409, resp.StatusCode)
	resp, raw = f.call(t, "admin", "DELETE", "/api/v1/tenants/apitest", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "deleting", decode[catalog.Tenant](t, raw).State)
	resp, raw = f.call(t, "admin", "POST", "/api/v1/tenants/apitest/purge", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, "purged", decode[catalog.Tenant](t, raw).State)
	resp, _ = f.call(t, "viewer", "GET", "/api/v1/tenants/apitest", nil)
	require.Equal(t, 404, resp.StatusCode)
	events, err = f.store.ListEvents(ctx, "apitest", 1)
	require.NoError(t, err)
	require.Equal(t, "tenant.purge", events[0].Action)
	require.Equal(t, "test-admin", events[0].Actor)
}

// TestAPILongOperationAnswers202 runs a create on a server whose wait is shorter than
// any create: the answer is 202 with a job to poll, and the tenant appears.
func TestAPILongOperationAnswers202(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	s, err := serve.New(serve.Options{Env: f.env, Wait: time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	slow := &fleet{store: f.store, srv: s, tokens: f.tokens, secrets: f.secretList()}
	slow.http = httpServer(t, s)
	resp, raw := slow.call(t, "operator", "POST", "/api/v1/tenants", map[string]any{"slug": "slowpoke", "name": "Slowpoke", "domain": "slowpoke.example"})
	require.Equal(t, 202, resp.StatusCode, string(raw))
	acc := decode[map[string]any](t, raw)
	require.Equal(t, "running", acc["status"])
	poll := acc["poll"].(string)
	require.Eventually(t, func() bool {
		_, raw := slow.call(t, "viewer", "GET", poll, nil)
		return decode[catalog.JobRun](t, raw).Status == "succeeded"
	}, time.Minute, 50*time.Millisecond)
	_, raw = slow.call(t, "viewer", "GET", "/api/v1/tenants/slowpoke", nil)
	require.Equal(t, "active", decode[map[string]any](t, raw)["state"])
	resp, _ = slow.call(t, "admin", "DELETE", "/api/v1/tenants/slowpoke?purge=true", nil)
	require.True(t, slices.Contains([]int{200, 202}, resp.StatusCode))
	s.Close() // waits for the purge
	_, err = f.store.GetTenant(context.Background(), "slowpoke")
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)
}

func TestAPIOperatorsAndServers(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	_, raw := f.call(t, "admin", "GET", "/api/v1/operators", nil)
	ops := decode[[]map[string]any](t, raw)
	require.GreaterOrEqual(t, len(ops), 3)
	require.NotContains(t, string(raw), "token")
	tok, err := f.store.AddOperator(context.Background(), "short-lived", "viewer")
	require.NoError(t, err)
	f.addSecret(tok)
	resp, _ := f.call(t, "admin", "DELETE", "/api/v1/operators/short-lived", nil)
	require.Equal(t, 204, resp.StatusCode)
	_, err = f.store.Authenticate(context.Background(), tok)
	require.ErrorIs(t, err, catalog.ErrBadToken)
	resp, _ = f.call(t, "admin", "DELETE", "/api/v1/operators/test-admin", nil)
	require.Equal(t, 409, resp.StatusCode, "an admin cannot lock itself out")

	resp, raw = f.call(t, "admin", "POST", "/api/v1/servers/pg-a/drain", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, true, decode[map[string]any](t, raw)["draining"])
	resp, raw = f.call(t, "admin", "POST", "/api/v1/servers/pg-a/undrain", nil)
	require.Equal(t, 200, resp.StatusCode, string(raw))
	require.Equal(t, false, decode[map[string]any](t, raw)["draining"])
	resp, _ = f.call(t, "admin", "DELETE", "/api/v1/servers/pg-a", nil)
	require.Equal(t, 409, resp.StatusCode, "a server holding tenants cannot be removed")
}
