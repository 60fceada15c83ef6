package api

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3 document of the API.
func OpenAPI() []byte { return openAPI }

// DefaultWait is how long a long operation (create, purge, migrate, rollup) may run
// before the request answers 202 with a job to poll.
const DefaultWait = 30 * time.Second

// Options configure the API.
type Options struct {
	// Env is the process's environment, started: the catalog, the provisioner, the
	// tenant migrations and rollup spec of POST /tenants/{slug}/migrate and /rollup, and
	// the node named in job runs. Nil only for an API whose routes are listed, not served.
	Env  *fleetenv.Env
	View *fleetview.View
	// Wait bounds how long a request waits for a long operation (0: DefaultWait).
	Wait time.Duration
	Log  hclog.Logger
}

// API is the /api/v1 handler.
type API struct {
	o     Options
	env   *fleetenv.Env
	store *catalog.Store
	prov  *provisioner.Provisioner
	mux   *http.ServeMux
	// bg tracks operations that outlived their request (answered 202).
	bg sync.WaitGroup
}

// Route is one route of the API: what the OpenAPI document must describe.
type Route struct {
	Method, Path string
	// Role is the least role allowed; "" means no authentication.
	Role string
}

type handler func(w http.ResponseWriter, r *http.Request, op catalog.Operator) error

// New returns the API.
func New(o Options) *API {
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	a := &API{o: o, env: o.Env, mux: http.NewServeMux()}
	if o.Env != nil { // nil: an API that only lists its routes (the document's tests)
		a.store, a.prov = o.Env.Store, o.Env.Provisioner
	}
	for _, rt := range a.routes() {
		a.mux.Handle(rt.Method+" "+rt.Path, a.wrap(rt.Route, rt.h))
	}
	a.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if allow := a.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, r, newProblem(http.StatusMethodNotAllowed, "method-not-allowed",
				r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, " or ")))
			return
		}
		writeProblem(w, r, newProblem(http.StatusNotFound, "not-found", "no such route: "+r.Method+" "+r.URL.Path))
	})
	return a
}

type route struct {
	Route
	h handler
}

// Routes lists every route, for the OpenAPI test and the docs.
func (a *API) Routes() []Route {
	var out []Route
	for _, rt := range a.routes() {
		out = append(out, rt.Route)
	}
	return out
}

func (a *API) routes() []route {
	v, o, ad := catalog.RoleViewer, catalog.RoleOperator, catalog.RoleAdmin
	r := func(method, path, role string, h handler) route {
		return route{Route{method, "/api/v1" + path, role}, h}
	}
	return []route{
		r("GET", "/openapi.json", "", a.openapi),
		r("GET", "/me", v, a.me),
		r("GET", "/overview", v, a.overview),
		r("GET", "/tenants", v, a.listTenants),
		r("POST", "/tenants", o, a.createTenant),
		r("GET", "/tenants/{slug}", v, a.getTenant),
		r("DELETE", "/tenants/{slug}", ad, a.deleteTenant),
		r("POST", "/tenants/{slug}/suspend", o, a.suspend),
		r("POST", "/tenants/{slug}/resume", o, a.resume),
		r("POST", "/tenants/{slug}/cancel-delete", ad, a.cancelDelete),
		r("POST", "/tenants/{slug}/purge", ad, a.purge),
		r("POST", "/tenants/{slug}/migrate", o, a.migrate),
		r("POST", "/tenants/{slug}/rollup", o, a.rollupTenant),
		r("GET", "/tenants/{slug}/dsn", ad, a.dsn),
		r("GET", "/tenants/{slug}/events", v, a.events),
		r("GET", "/tenants/{slug}/access", v, a.listAccess),
		r("POST", "/tenants/{slug}/access", o, a.grantAccess),
		r("DELETE", "/tenants/{slug}/access/{login}", o, a.revokeAccess),
		r("GET", "/tenants/{slug}/report", v, a.report),
		r("GET", "/servers", v, a.listServers),
		r("POST", "/servers/{name}/drain", ad, a.drain(true)),
		r("POST", "/servers/{name}/undrain", ad, a.drain(false)),
		r("DELETE", "/servers/{name}", ad, a.removeServer),
		r("GET", "/jobs", v, a.listJobs),
		r("GET", "/jobs/{id}", v, a.getJob),
		r("GET", "/audit/runs", v, a.auditRuns),
		r("GET", "/audit/runs/{id}", v, a.auditRun),
		r("GET", "/operators", ad, a.listOperators),
		r("DELETE", "/operators/{login}", ad, a.revokeOperator),
	}
}

// allowed lists the methods some route serves at the request's path (none when no
// route has this path), for a 405's Allow header.
func (a *API) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/api/v1/" {
			out = append(out, m)
		}
	}
	return out
}

// ServeHTTP serves /api/v1.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Wait blocks until the operations that outlived their requests are done.
func (a *API) Wait() { a.bg.Wait() }

// wrap authenticates, authorises, sets the actor and turns errors into problems.
func (a *API) wrap(rt Route, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		var op catalog.Operator
		if rt.Role != "" {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" {
				writeProblem(w, r, newProblem(http.StatusUnauthorized, "unauthorized", "send an operator token: Authorization: Bearer TOKEN"))
				return
			}
			var err error
			op, err = a.store.Authenticate(r.Context(), strings.TrimSpace(token))
			if errors.Is(err, catalog.ErrBadToken) {
				writeProblem(w, r, newProblem(http.StatusUnauthorized, "unauthorized", "invalid or revoked token"))
				return
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if catalog.RoleRank(op.Role) < catalog.RoleRank(rt.Role) {
				writeProblem(w, r, newProblem(http.StatusForbidden, "forbidden",
					"operator "+op.Login+" has role "+op.Role+"; this needs "+rt.Role))
				return
			}
			r = r.WithContext(catalog.WithActor(r.Context(), op.Login))
		}
		if err := h(w, r, op); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := toProblem(err)
	if p.Status >= 500 {
		a.o.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", secret.Scrub(err.Error()))
	}
	writeProblem(w, r, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}

// result is the outcome of an operation: a status and a JSON body, or an error.
type result struct {
	status int
	body   any
	err    error
}

// encode turns a result into the status and bytes to send.
func (res result) encode(r *http.Request) (int, []byte) {
	if res.err != nil {
		p := toProblem(res.err)
		p.Instance = r.URL.Path
		b, _ := json.Marshal(p)
		return p.Status, b
	}
	b, _ := json.MarshalIndent(res.body, "", "  ")
	return res.status, b
}

// longOp runs fn and answers with its result when it finishes within the configured
// wait; otherwise it answers 202 with a job run to poll (GET /api/v1/jobs/{id}), and the
// operation carries on, recorded in that job run when it ends. The operation does not
// stop when the client goes away: a half-done create or purge is worse than a finished
// one nobody waited for.
func (a *API) longOp(r *http.Request, job string, fn func(ctx context.Context) result) (int, []byte, bool) {
	ctx := context.WithoutCancel(r.Context())
	done := make(chan result, 1)
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		done <- fn(ctx)
	}()
	timer := time.NewTimer(a.o.Wait)
	defer timer.Stop()
	select {
	case res := <-done:
		st, b := res.encode(r)
		return st, b, false
	case <-timer.C:
	}
	id, finish, err := a.store.StartJobRun(ctx, job, a.env.Node)
	if err != nil {
		res := <-done // cannot hand out a job: wait for the result instead
		st, b := res.encode(r)
		return st, b, false
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		res := <-done
		st, _ := res.encode(r)
		status, errText := catalog.JobSucceeded, ""
		if res.err != nil {
			status, errText = catalog.JobFailed, res.err.Error()
		}
		if err := finish(ctx, status, errText, map[string]int64{"http_status": int64(st)}); err != nil {
			a.o.Log.Error("record job end", "job", job, "id", id, "error", err)
		}
	}()
	b, _ := json.MarshalIndent(map[string]any{"job": id, "status": catalog.JobRunning, "poll": "/api/v1/jobs/" + itoa(id)}, "", "  ")
	return http.StatusAccepted, b, true
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
