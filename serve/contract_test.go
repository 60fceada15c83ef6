package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
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
)

// contract is the OpenAPI document, loaded and checked by kin-openapi, with a router
// that finds the operation of a request.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  *contract
	contractErr  error
)

func loadContract(t testing.TB) *contract {
	t.Helper()
	contractOnce.Do(func() {
		ctx := context.Background()
		// The report and audit routes answer Markdown and HTML too: text, as the
		// document says.
		openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		// A report's CSV holds one block per section, each with its own columns.
		openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
		if err != nil {
			contractErr = err
			return
		}
		if err := doc.Validate(ctx); err != nil {
			contractErr = fmt.Errorf("the document is not valid OpenAPI: %w", err)
			return
		}
		// Route by path only: the document's server URL is an example, the tests' is not.
		doc.Servers = nil
		r, err := legacy.NewRouter(doc)
		if err != nil {
			contractErr = err
			return
		}
		theContract = &contract{doc: doc, router: r}
	})
	require.NoError(t, contractErr)
	return theContract
}

// input finds the operation of req; nil when the document has no such route.
func (c *contract) input(req *http.Request) *openapi3filter.RequestValidationInput {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil
	}
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
}

// checkRequest says whether the document allows the request (nil) or why it does not.
// The request's body is read and put back.
func (c *contract) checkRequest(req *http.Request) error {
	in := c.input(req)
	if in == nil {
		return fmt.Errorf("no route in the document for %s %s", req.Method, req.URL.Path)
	}
	return openapi3filter.ValidateRequest(context.Background(), in)
}

// checkResponse checks an answer against the document: its status is one the operation
// lists, and its content type and body match what it says for that status.
func (c *contract) checkResponse(req *http.Request, status int, hdr http.Header, body []byte) error {
	in := c.input(req)
	if in == nil {
		return fmt.Errorf("no route in the document for %s %s", req.Method, req.URL.Path)
	}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: hdr, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// checkAnswer is called by fleet.call on every API answer of the test suite: an answer
// on a route of the document must be one the document describes; any other is a problem
// (404 for no such path, 405 with Allow for a method the path does not serve).
func (f *fleet) checkAnswer(t *testing.T, req *http.Request, status int, hdr http.Header, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return
	}
	c := loadContract(t)
	if c.input(req) == nil {
		require.Contains(t, []int{404, 405}, status, "%s %s is in no route of the document: %s", req.Method, req.URL.Path, body)
		require.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
		if status == 405 {
			require.NotEmpty(t, hdr.Get("Allow"))
		}
		return
	}
	require.NoError(t, c.checkResponse(req, status, hdr, body), "%s %s answered %d outside the document: %s", req.Method, req.URL, status, body)
}

// TestAPIContractExactness checks, on real requests, the rules the issue names: what
// the document refuses the server refuses (400 naming the field), wrong methods are 405
// with Allow, problems never leak database errors, and the public document's route
// needs no token.
func TestAPIContractExactness(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	c := loadContract(t)
	openapi := c.doc.Paths.Find("/api/v1/openapi.json").Get
	require.NotNil(t, openapi.Security)
	require.Empty(t, *openapi.Security, "security: [] on the public route")
	ids := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.NotEmpty(t, op.OperationID, "%s %s has no operationId", method, path)
			require.False(t, ids[op.OperationID], "operationId %s twice", op.OperationID)
			ids[op.OperationID] = true
		}
	}

	badField := func(role, method, path string, body any, field string) {
		t.Helper()
		resp, raw := f.call(t, role, method, path, body)
		require.Equal(t, 400, resp.StatusCode, "%s %s: %s", method, path, raw)
		p := decode[api.Problem](t, raw)
		require.Equal(t, field, p.Field, "%s %s: %s", method, path, raw)
		require.NotContains(t, string(raw), "SQLSTATE")
	}
	for _, q := range []string{"limit=", "offset=", "order=", "sort=", "state=", "server=", "figures=", "figures=yes", "q=%00", "q=a%1Bb", "q=%E2%80%AEx", "q=%FF", "sort=bogus", "limit=501"} {
		name, _, _ := strings.Cut(q, "=")
		badField("viewer", "GET", "/api/v1/tenants?"+q, nil, name)
	}
	badField("viewer", "GET", "/api/v1/tenants/acme/report?format=", nil, "format")
	badField("viewer", "GET", "/api/v1/tenants/acme/events?limit=", nil, "limit")
	badField("viewer", "GET", "/api/v1/jobs?limit=", nil, "limit")
	badField("viewer", "GET", "/api/v1/audit/runs/1?format=", nil, "format")
	badField("viewer", "GET", "/api/v1/jobs/9007199254740992", nil, "id")
	badField("admin", "DELETE", "/api/v1/tenants/no-such-tenant?purge=", nil, "purge")
	// Bad input is 400 whether or not the tenant exists.
	badField("operator", "POST", "/api/v1/tenants/no-such-tenant/access", map[string]string{"login": "Bad"}, "login")
	badField("viewer", "GET", "/api/v1/tenants/no-such-tenant/report?format=pdf", nil, "format")

	create := func(body map[string]any) map[string]any {
		out := map[string]any{"slug": "contract-x", "name": "Contract", "domain": "contract-x.example"}
		for k, v := range body {
			out[k] = v
		}
		return out
	}
	badField("operator", "POST", "/api/v1/tenants", create(map[string]any{"server": "no-such-server"}), "server")
	badField("operator", "POST", "/api/v1/tenants", create(map[string]any{"domain": "Contract-X.example"}), "domain")
	badField("operator", "POST", "/api/v1/tenants", create(map[string]any{"contact_email": "it@CONTRACT-X.example"}), "contact_email")
	badField("operator", "POST", "/api/v1/tenants", `{"slug": "contract-x", "name": "C", "domain": "contract-x.example"} {}`, "")

	for body, field := range map[string]string{
		`{"slug": "acme", "name": "Other", "domain": "other-acme.example"}`:            "slug",
		`{"slug": "acme-two", "name": "Other", "domain": "acme.example"}`:              "domain",
		`{"slug": "acme", "name": "Acme", "domain": "acme.example", "server": "pg-a"}`: "slug",
	} {
		resp, raw := f.call(t, "operator", "POST", "/api/v1/tenants", body)
		require.Equal(t, 409, resp.StatusCode, "%s: %s", body, raw)
		require.Equal(t, field, decode[api.Problem](t, raw).Field, body)
	}

	resp, raw := f.call(t, "viewer", "GET", "/api/v1/jobs/999999", nil)
	require.Equal(t, 404, resp.StatusCode)
	require.NotContains(t, string(raw), "no rows")
	require.Contains(t, decode[api.Problem](t, raw).Detail, "no job run 999999")

	for _, m := range []struct{ method, path, allow string }{
		{"PUT", "/api/v1/tenants", "GET, HEAD, POST"},
		{"POST", "/api/v1/me", "GET, HEAD"},
		{"PATCH", "/api/v1/tenants/acme", "GET, HEAD, DELETE"},
		{"GET", "/api/v1/tenants/acme/suspend", "POST"},
		{"DELETE", "/api/v1/openapi.json", "GET, HEAD"},
	} {
		resp, raw := f.call(t, "viewer", m.method, m.path, nil)
		require.Equal(t, 405, resp.StatusCode, "%s %s: %s", m.method, m.path, raw)
		require.Equal(t, m.allow, resp.Header.Get("Allow"))
		require.Equal(t, 405, decode[api.Problem](t, raw).Status)
	}
	resp, _ = f.call(t, "", "GET", "/api/v1/openapi.json", nil)
	require.Equal(t, 200, resp.StatusCode)
}

// TestAPISortByFigures sorts the tenant list by each warehouse figure and by size, both
// ways, and pages through the sorted list.
func TestAPISortByFigures(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	type page struct {
		Tenants []map[string]any `json:"tenants"`
		Total   int              `json:"total"`
	}
	for _, key := range catalog.FigureSortKeys {
		for _, order := range []string{"asc", "desc"} {
			_, raw := f.call(t, "viewer", "GET", "/api/v1/tenants?figures=true&sort="+key+"&order="+order, nil)
			pg := decode[page](t, raw)
			require.GreaterOrEqual(t, pg.Total, 3)
			var got []float64
			for _, tn := range pg.Tenants {
				if v, ok := tn[key].(float64); ok {
					got = append(got, v)
				}
			}
			require.GreaterOrEqual(t, len(got), 3, key)
			want := slices.Clone(got)
			sort.Float64s(want)
			if order == "desc" {
				slices.Reverse(want)
			}
			require.Equal(t, want, got, "sort=%s&order=%s", key, order)
			// The second page continues the first.
			_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants?limit=1&offset=1&sort="+key+"&order="+order, nil)
			second := decode[page](t, raw)
			require.Len(t, second.Tenants, 1)
			require.Equal(t, pg.Tenants[1]["slug"], second.Tenants[0]["slug"])
		}
	}
}

// TestAPIPropertyContract generates requests from the document for every route and every
// role: valid and invalid values for each parameter and body field, a bounded number per
// route. Every answer must be described by the document and none may be a 5xx; a request
// the document refuses must be refused (400, or 401/403 before any input is read); a
// request it allows must not be refused as bad input, except for the rules a schema
// cannot state (a contact email under the tenant's domain, a registered server, an
// expiry in the future).
//
// Mutating routes only ever name tenants, servers and logins that do not exist, and a
// create only ever names a taken slug or an unknown server, so the run changes nothing.
// Set TENANTCTL_CONTRACT_SEED to replay a run.
func TestAPIPropertyContract(t *testing.T) {
	f := sharedFleet(t)
	c := loadContract(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TENANTCTL_CONTRACT_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (TENANTCTL_CONTRACT_SEED=%d replays this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x7e7a))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }

	// Values for each parameter and field, valid and not (the document decides which).
	pathValues := func(name string, mutating bool) string {
		switch name {
		case "slug":
			if mutating {
				return pick("no-such-tenant", "zz-missing", "A", "ab-", "-ab", "x", strings.Repeat("a", 41))
			}
			return pick("acme", "globex", "no-such-tenant", "A", "ab-", "x")
		case "name":
			if mutating {
				return pick("no-such-server", "zz", "Pg", "9x", "a-")
			}
			return pick("pg-a", "no-such-server", "Pg")
		case "login":
			return pick("nobody", "zz.top", "Nobody", "1x", strings.Repeat("a", 32))
		case "id":
			return pick("1", "2", "999999", "0", "-1", "abc", "9007199254740991", "9007199254740992", "1e3")
		}
		t.Fatalf("no values for path parameter %s", name)
		return ""
	}
	queryValues := map[string][]string{
		"q":       {"", "acme", "CORP", "%", "_", "\x00", "a\x1bb", "\u202ex", strings.Repeat("é", 200), strings.Repeat("é", 201), "\u0085"},
		"state":   {"active", "suspended", "purged", "deleting", "", "bogus", "Active"},
		"server":  {"pg-a", "pg-b", "no-such-server", "", "PG", "a_b"},
		"sort":    append(append(slices.Clone(catalog.TenantSortKeys), catalog.FigureSortKeys...), "", "bogus", "size"),
		"order":   {"asc", "desc", "", "up", "ASC"},
		"limit":   {"1", "2", "50", "500", "1000", "0", "501", "1001", "", "x", "-1", "1.5"},
		"offset":  {"0", "1", "2", "100000", "-1", "", "x"},
		"figures": {"true", "false", "", "1", "yes"},
		"purge":   {"true", "false", "", "0"},
		"format":  {"json", "md", "html", "csv", "markdown", "", "pdf"},
	}
	createBody := func() any {
		if rng.IntN(12) == 0 {
			return pick("{", "[]", "null", `{"slug": "acme"} {}`, `"x"`)
		}
		b := map[string]any{}
		set := func(k string, vs ...any) {
			if rng.IntN(8) > 0 {
				b[k] = vs[rng.IntN(len(vs))]
			}
		}
		// Never a fresh valid slug with a registered or automatic server: nothing is created.
		fresh := rng.IntN(3) == 0
		if fresh {
			b["slug"] = pick("contract-new", "contract-two")
			b["server"] = pick("no-such-server", "Bad Server", "9x")
		} else {
			set("slug", "acme", "globex", "A", "x", "bad_slug", 5)
			set("server", "pg-a", "", "no-such-server", "PG")
		}
		set("name", "Acme", "Acme Corporation", "", "   ", "a\x00b", strings.Repeat("n", 201), "\u202eabc", "\u00a0", "Ünïcode ✓", true)
		set("domain", "acme.example", "new-domain.example", "ACME.example", "example.123", "nodot", "a..b", "x.1a", "-a.example", "acme.example.", "", 7)
		set("contact_email", "", "ops@acme.example", "ops@sub.acme.example", "ops@other.example", "a..b@acme.example", "OPS@ACME.example", "noat", ".x@acme.example")
		set("labels", map[string]any{"env": "prod"}, map[string]any{"Bad": "x"}, map[string]any{"k": "bad value"}, map[string]any{}, map[string]any{"tier": ""}, "env=prod")
		if rng.IntN(10) == 0 {
			b["bogus"] = 1
		}
		if fresh {
			if _, ok := b["server"]; !ok {
				b["server"] = "no-such-server"
			}
		}
		return b
	}
	grantBody := func() any {
		if rng.IntN(12) == 0 {
			return pick("{", "[]", "null")
		}
		b := map[string]any{}
		set := func(k string, vs ...any) {
			if rng.IntN(6) > 0 {
				b[k] = vs[rng.IntN(len(vs))]
			}
		}
		set("login", "alice", "bob.smith", "", "Alice", "1x", strings.Repeat("a", 32), 3)
		set("level", "read", "write", "", "admin")
		set("expires", "8h", "never", "", "-1h", "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "tomorrow", "\x00")
		set("reason", "ticket 1", "", "\x1b[31m", strings.Repeat("r", 501), "\u202e")
		if rng.IntN(10) == 0 {
			b["extra"] = true
		}
		return b
	}
	// The 400s a schema cannot state, by the field they name.
	businessFields := map[string]bool{"contact_email": true, "server": true, "expires": true}

	const perRouteAndRole = 8
	roles := []string{"", "bad-token", catalog.RoleViewer, catalog.RoleOperator, catalog.RoleAdmin}
	statuses := map[int]int{}
	total, refused := 0, 0
	var paths []string
	for p := range c.doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		item := c.doc.Paths.Find(path)
		var methods []string
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			op := item.GetOperation(method)
			var least string
			switch v := op.Extensions["x-role"].(type) {
			case string:
				least = v
			case json.RawMessage:
				require.NoError(t, json.Unmarshal(v, &least))
			default:
				t.Fatalf("%s %s: x-role is %T", method, path, v)
			}
			mutating := method != "GET"
			for _, role := range roles {
				for range perRouteAndRole {
					// Path.
					u := path
					for _, seg := range strings.Split(path, "/") {
						if strings.HasPrefix(seg, "{") {
							u = strings.Replace(u, seg, url.PathEscape(pathValues(strings.Trim(seg, "{}"), mutating)), 1)
						}
					}
					// Query: each parameter left out or given one of its values.
					q := url.Values{}
					var header []string
					for _, pr := range op.Parameters {
						p := pr.Value
						if rng.IntN(2) == 0 {
							continue
						}
						switch p.In {
						case "query":
							q.Set(p.Name, pick(queryValues[p.Name]...))
						case "header":
							header = append(header, p.Name, pick(fmt.Sprintf("key-%d", rng.IntN(1e9)), "", "é", "k y"))
						}
					}
					if len(q) > 0 {
						u += "?" + q.Encode()
					}
					var body any
					switch {
					case method == "POST" && path == "/api/v1/tenants":
						body = createBody()
					case method == "POST" && strings.HasSuffix(path, "/access"):
						body = grantBody()
					}
					var raw []byte
					if body != nil {
						if s, ok := body.(string); ok {
							raw = []byte(s)
						} else {
							raw, _ = json.Marshal(body)
						}
					}
					// What the document says of the request.
					probe, err := http.NewRequest(strings.ToUpper(method), f.http.URL+u, bytes.NewReader(raw))
					require.NoError(t, err)
					if body != nil {
						probe.Header.Set("Content-Type", "application/json")
					}
					for i := 0; i+1 < len(header); i += 2 {
						probe.Header.Set(header[i], header[i+1])
					}
					docErr := c.checkRequest(probe)

					hdr := append([]string{"Content-Type", "application/json"}, header...)
					callRole := role
					if role == "bad-token" {
						callRole = ""
						hdr = append(hdr, "Authorization", "Bearer tctl_not-a-real-token")
					}
					var bodyArg any
					if body != nil {
						bodyArg = string(raw)
					}
					resp, full := f.call(t, callRole, strings.ToUpper(method), u, bodyArg, hdr...)
					answer := full
					if len(answer) > 600 {
						answer = append(answer[:600:600], "…"...)
					}
					total++
					statuses[resp.StatusCode]++
					where := fmt.Sprintf("seed %d: %s %s as %q body %s", seed, strings.ToUpper(method), u, role, raw)
					require.Less(t, resp.StatusCode, 500, "%s: %s", where, answer)
					authorised := least == "" || (role != "" && role != "bad-token" && catalog.RoleRank(role) >= catalog.RoleRank(least))
					switch {
					case least != "" && (role == "" || role == "bad-token"):
						require.Equal(t, 401, resp.StatusCode, "%s: %s", where, answer)
					case !authorised:
						require.Equal(t, 403, resp.StatusCode, "%s: %s", where, answer)
					case docErr != nil:
						refused++
						require.Equal(t, 400, resp.StatusCode, "%s: the document refuses it (%v) but the server answered %s", where, docErr, answer)
					case resp.StatusCode == 400:
						p := decode[api.Problem](t, full)
						require.True(t, businessFields[p.Field], "%s: the document allows it but the server refused it: %s", where, answer)
					}
				}
			}
		}
	}
	var summary []string
	for st, n := range statuses {
		summary = append(summary, fmt.Sprintf("%d×%d", n, st))
	}
	sort.Strings(summary)
	t.Logf("%d generated requests (%d refused by the document), every answer inside the document, no 5xx; statuses: %s", total, refused, strings.Join(summary, ", "))
}
