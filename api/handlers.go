package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (a *API) openapi(w http.ResponseWriter, _ *http.Request, _ catalog.Operator) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}

func (a *API) me(w http.ResponseWriter, _ *http.Request, op catalog.Operator) error {
	return writeJSON(w, http.StatusOK, map[string]string{"login": op.Login, "role": op.Role})
}

func (a *API) overview(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	o, err := a.o.View.Overview(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}

// queryParam reads a query parameter. A parameter given with an empty value (limit=)
// is refused, as the OpenAPI document refuses it: only a parameter left out takes its
// default. q is the one parameter whose empty value means something (no search).
func queryParam(r *http.Request, name string) (string, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return "", nil
	}
	v := q.Get(name)
	if v == "" {
		return "", fieldError(name, validate.Errorf("%s is empty: give a value or leave the parameter out", name))
	}
	return v, nil
}

// intParam reads an integer query parameter.
func intParam(r *http.Request, name string, def int) (int, error) {
	v, err := queryParam(r, name)
	if err != nil || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fieldError(name, validate.Errorf("invalid %s %q: use a whole number", name, v))
	}
	return n, nil
}

// boolParam reads a boolean query parameter: true or false (1, t, TRUE, 0, f, FALSE…
// are taken too, as strconv.ParseBool and OpenAPI parameter decoders take them).
func boolParam(r *http.Request, name string) (bool, error) {
	v, err := queryParam(r, name)
	if err != nil || v == "" {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fieldError(name, validate.Errorf("invalid %s %q: use true or false", name, v))
	}
	return b, nil
}

// limitParam reads a page size of 1 to most.
func limitParam(r *http.Request, def, most int) (int, error) {
	limit, err := intParam(r, "limit", def)
	if err != nil {
		return 0, err
	}
	if limit < 1 || limit > most {
		return 0, fieldError("limit", validate.Errorf("invalid limit %d: use 1-%d", limit, most))
	}
	return limit, nil
}

func (a *API) listTenants(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	s := catalog.TenantSearch{Query: r.URL.Query().Get("q")}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"state", &s.State}, {"server", &s.Server}, {"sort", &s.Sort}} {
		v, err := queryParam(r, p.name)
		if err != nil {
			return err
		}
		*p.dst = v
	}
	order, err := queryParam(r, "order")
	if err != nil {
		return err
	}
	switch order {
	case "", "asc":
	case "desc":
		s.Desc = true
	default:
		return fieldError("order", validate.Errorf("invalid order %q: use asc or desc", order))
	}
	if s.Limit, err = limitParam(r, 50, catalog.MaxPage); err != nil {
		return err
	}
	if s.Offset, err = intParam(r, "offset", 0); err != nil {
		return err
	}
	figures, err := boolParam(r, "figures")
	if err != nil {
		return err
	}
	if err := validateSearch(&s); err != nil {
		return err
	}
	page, err := a.o.View.Customers(r.Context(), s, figures)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tenants": page.Customers, "total": page.Total, "limit": s.Limit, "offset": s.Offset})
}

// validateSearch validates s (filling in its defaults); a refusal names the parameter,
// found by checking them one at a time with the same rules.
func validateSearch(s *catalog.TenantSearch) error {
	if s.Validate() == nil {
		return nil
	}
	v := *s
	return firstBadField(catalog.TenantSearch{}, []fieldStep[catalog.TenantSearch]{
		{"sort", func(c *catalog.TenantSearch) { c.Sort = v.Sort }},
		{"state", func(c *catalog.TenantSearch) { c.State = v.State }},
		{"server", func(c *catalog.TenantSearch) { c.Server = v.Server }},
		{"q", func(c *catalog.TenantSearch) { c.Query = v.Query }},
		{"limit", func(c *catalog.TenantSearch) { c.Limit = v.Limit }},
		{"offset", func(c *catalog.TenantSearch) { c.Offset = v.Offset }},
	}, func(_ string, probe *catalog.TenantSearch) error { return probe.Validate() })
}

// CreateTenantRequest is the body of POST /tenants.
type CreateTenantRequest struct {
	Slug         string            `json:"slug"`
	Name         string            `json:"name"`
	Domain       string            `json:"domain"`
	Server       string            `json:"server,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	ContactEmail string            `json:"contact_email,omitempty"`
}

func (req CreateTenantRequest) options() provisioner.CreateOptions {
	o := provisioner.CreateOptions{Slug: req.Slug, Name: req.Name, Domain: req.Domain, Server: req.Server, ContactEmail: req.ContactEmail}
	for k, v := range req.Labels {
		o.Labels = append(o.Labels, k+"="+v)
	}
	sort.Strings(o.Labels)
	return o
}

// fieldStep sets one field of a library options value from a request.
type fieldStep[T any] struct {
	field string
	set   func(*T)
}

// firstBadField sets o's fields one at a time, in order, checking a copy of o after each,
// so that the problem names the first field whose value check refuses.
func firstBadField[T any](o T, steps []fieldStep[T], check func(field string, probe *T) error) error {
	for _, s := range steps {
		s.set(&o)
		probe := o
		if err := check(s.field, &probe); err != nil {
			return fieldError(s.field, err)
		}
	}
	return nil
}

// validateCreate runs the CLI's validation, one field at a time so the problem can name
// the field that failed.
func validateCreate(req CreateTenantRequest) error {
	o := req.options()
	base := provisioner.CreateOptions{Slug: "valid-slug", Name: "valid", Domain: "valid.example"}
	return firstBadField(base, []fieldStep[provisioner.CreateOptions]{
		{"slug", func(c *provisioner.CreateOptions) { c.Slug = o.Slug }},
		{"name", func(c *provisioner.CreateOptions) { c.Name = o.Name }},
		{"domain", func(c *provisioner.CreateOptions) { c.Domain = o.Domain }},
		{"contact_email", func(c *provisioner.CreateOptions) { c.ContactEmail = o.ContactEmail }},
		{"server", func(c *provisioner.CreateOptions) { c.Server = o.Server }},
		{"labels", func(c *provisioner.CreateOptions) { c.Labels = o.Labels }},
	}, func(field string, probe *provisioner.CreateOptions) error {
		if _, err := probe.Validate(); err != nil {
			return err
		}
		// The CLI forgives case and a trailing dot; the API takes the form its document
		// states, so that what a client may send is exactly what its schema allows.
		switch {
		case field == "domain" && probe.Domain != req.Domain:
			return validate.Errorf("invalid domain %q: write it as %q (lowercase, no trailing dot)", req.Domain, probe.Domain)
		case field == "contact_email" && probe.ContactEmail != req.ContactEmail:
			return validate.Errorf("invalid contact email %q: write it as %q (the domain part lowercase)", req.ContactEmail, probe.ContactEmail)
		}
		return nil
	})
}

// idempotencyKeyRE is the document's rule for an Idempotency-Key: printable ASCII.
var idempotencyKeyRE = regexp.MustCompile(`^[!-~]{1,200}$`)

func (a *API) createTenant(w http.ResponseWriter, r *http.Request, op catalog.Operator) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return newProblem(http.StatusRequestEntityTooLarge, "too-large", "the body is limited to 1 MiB")
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !idempotencyKeyRE.MatchString(key) {
		return fieldError("Idempotency-Key", validate.Errorf("invalid Idempotency-Key: use 1-200 printable ASCII characters, no spaces"))
	}
	// Bad input is refused before the key is looked at: it changes nothing, so there is
	// no answer worth keeping for a retry.
	req, err := a.createRequest(r, body, key != "")
	if err != nil {
		return err
	}
	hash := requestHash(r.Method, r.URL.Path, body)
	if key != "" {
		claimed, prev, err := a.store.ClaimIdempotencyKey(r.Context(), op.Login, key, hash)
		if err != nil {
			return fieldError("Idempotency-Key", err)
		}
		if !claimed {
			switch {
			case prev.Request != hash:
				return newProblem(http.StatusUnprocessableEntity, "idempotency-key-reused", "this Idempotency-Key was used for a different request")
			case !prev.Done:
				return newProblem(http.StatusConflict, "idempotency-key-in-use", "a request with this Idempotency-Key is still running; retry later")
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, prev.Status, prev.Body)
			return nil
		}
	}
	status, out := a.doCreate(r, req)
	if key != "" {
		// A server error is not an answer worth replaying: the key is released for a retry.
		if err := a.store.FinishIdempotencyKey(context.WithoutCancel(r.Context()), op.Login, key, status, out, status < 500); err != nil {
			a.o.Log.Error("record idempotency key", "error", err)
		}
	}
	if status == http.StatusCreated || status == http.StatusAccepted {
		w.Header().Set("Location", "/api/v1/tenants/"+req.Slug)
	}
	writeRaw(w, status, out)
	return nil
}

// createRequest decodes and checks a create's body, and, when checkServer, that the
// server it names is registered. Only a request with an Idempotency-Key needs that
// checked here, before its key is claimed; without one the create's placement reads the
// server anyway and its ErrServerNotFound is the same 400 (doCreate), one catalog round
// trip fewer.
func (a *API) createRequest(r *http.Request, body []byte, checkServer bool) (CreateTenantRequest, error) {
	var req CreateTenantRequest
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	if err := decodeJSON(r2, &req); err != nil {
		return req, err
	}
	if err := validateCreate(req); err != nil {
		return req, err
	}
	if req.Server != "" && checkServer {
		// A server that is not registered is bad input in the body, not a missing resource.
		if _, err := a.store.GetServer(r.Context(), req.Server); errors.Is(err, catalog.ErrServerNotFound) {
			return req, noServer(req.Server)
		} else if err != nil {
			return req, err
		}
	}
	return req, nil
}

// noServer is the problem of a create naming a server that is not registered: bad
// input in the body, not a missing resource.
func noServer(name string) error {
	return fieldError("server", validate.Errorf("no server named %q: list them with GET /api/v1/servers, or leave server out for automatic placement", name))
}

func (a *API) doCreate(r *http.Request, req CreateTenantRequest) (int, []byte) {
	st, b, _ := a.longOp(r, "tenant.create", func(ctx context.Context) result {
		t, err := a.prov.Create(ctx, req.options())
		if errors.Is(err, catalog.ErrServerNotFound) {
			// Not registered (or removed since createRequest checked it).
			return result{err: noServer(req.Server)}
		}
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusCreated, body: t}
	})
	return st, b
}

// tenant loads a live tenant by the path's slug (404 when there is none).
func (a *API) tenant(r *http.Request) (catalog.Tenant, error) {
	slug := r.PathValue("slug")
	if err := validate.Slug(slug); err != nil {
		return catalog.Tenant{}, fieldError("slug", err)
	}
	return a.store.GetTenant(r.Context(), slug)
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	if _, err := a.tenant(r); err != nil {
		return err
	}
	d, err := a.o.View.Customer(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (a *API) stateAnswer(w http.ResponseWriter, r *http.Request, id string) error {
	t, err := a.store.GetTenantByID(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// changeState applies change to the tenant the URL names and answers with the tenant as
// it is afterwards.
func (a *API) changeState(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, slug string) error) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if err := change(r.Context(), t.Slug); err != nil {
		return err
	}
	return a.stateAnswer(w, r, t.ID)
}

func (a *API) suspend(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	return a.changeState(w, r, a.prov.Suspend)
}

func (a *API) cancelDelete(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	return a.changeState(w, r, a.prov.CancelDelete)
}

func (a *API) resume(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	return a.changeState(w, r, a.prov.Resume)
}

// answerLong runs fn as a long operation (see [API.longOp]) and writes its answer.
func (a *API) answerLong(w http.ResponseWriter, r *http.Request, job string, fn func(ctx context.Context) result) error {
	st, b, _ := a.longOp(r, job, fn)
	writeRaw(w, st, b)
	return nil
}

// changeLong is [API.changeState] for a change that may outlast the request: it answers
// with the tenant as it is once change is done.
func (a *API) changeLong(w http.ResponseWriter, r *http.Request, job string, t catalog.Tenant, change func(ctx context.Context) error) error {
	return a.answerLong(w, r, job, func(ctx context.Context) result {
		if err := change(ctx); err != nil {
			return result{err: err}
		}
		after, err := a.store.GetTenantByID(ctx, t.ID)
		return result{status: http.StatusOK, body: after, err: err}
	})
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	purge, err := boolParam(r, "purge")
	if err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	// The URL names the tenant; that is the confirmation the CLI's --confirm asks for.
	return a.changeLong(w, r, "tenant.delete", t, func(ctx context.Context) error {
		return a.prov.Delete(ctx, provisioner.DeleteOptions{Slug: t.Slug, Confirm: t.Slug, Purge: purge})
	})
}

func (a *API) purge(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	return a.changeLong(w, r, "purge", t, func(ctx context.Context) error { return a.prov.Purge(ctx, t.Slug, t.Slug) })
}

func (a *API) migrate(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	return a.answerLong(w, r, "migrate", func(ctx context.Context) result {
		res, err := jobs.Migrate.Run(ctx, a.env, jobs.MigrateOptions(a.env, fleet.Options{Tenant: t.Slug}))
		return result{status: http.StatusOK, body: map[string]any{"counts": res.Totals().Map(), "migrated": res.Migrated, "failed": res.Failed}, err: err}
	})
}

func (a *API) rollupTenant(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	return a.answerLong(w, r, "rollup", func(ctx context.Context) result {
		o, err := jobs.RollupOptions(a.env, fleet.Options{Tenant: t.Slug})
		if err != nil {
			return result{err: err}
		}
		res, err := jobs.Rollup.Run(ctx, a.env, o)
		return result{status: http.StatusOK, body: res, err: err}
	})
}

func (a *API) dsn(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	dsn, err := a.prov.AppDSN(r.Context(), t.Slug)
	if err != nil {
		return err
	}
	// Reading a secret over the network leaves a trace of who did it.
	if err := a.store.AppendEvent(r.Context(), nil, catalog.Event{Action: "tenant.dsn.read", TenantID: t.ID, Slug: t.Slug}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"slug": t.Slug, "dsn": dsn})
}

func (a *API) events(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	limit, err := limitParam(r, 50, 1000)
	if err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	events, err := a.store.ListEvents(r.Context(), t.Slug, limit)
	if err != nil {
		return err
	}
	if events == nil {
		events = []catalog.Event{}
	}
	return writeJSON(w, http.StatusOK, events)
}

func (a *API) listAccess(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	grants, err := a.store.ListAccessGrants(r.Context(), t.Slug, "")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, grants)
}

// GrantRequest is the body of POST /tenants/{slug}/access.
type GrantRequest struct {
	Login   string `json:"login"`
	Level   string `json:"level,omitempty"`
	Expires string `json:"expires,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// ValidateGrant runs the CLI's validation of a grant one field at a time, so the error
// names the field.
func ValidateGrant(slug string, req GrantRequest) error {
	return firstBadField(provisioner.GrantOptions{Slug: slug}, []fieldStep[provisioner.GrantOptions]{
		{"login", func(c *provisioner.GrantOptions) { c.Login = req.Login }},
		{"level", func(c *provisioner.GrantOptions) { c.Level = req.Level }},
		{"reason", func(c *provisioner.GrantOptions) { c.Reason = req.Reason }},
		{"expires", func(c *provisioner.GrantOptions) { c.Expires = req.Expires }},
	}, func(_ string, probe *provisioner.GrantOptions) error {
		_, err := probe.Validate(time.Now())
		return err
	})
}

func (a *API) grantAccess(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	// All the input is checked before the tenant is looked up: bad input is 400 whether
	// or not the tenant exists.
	if err := validate.Slug(r.PathValue("slug")); err != nil {
		return fieldError("slug", err)
	}
	var req GrantRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := ValidateGrant(r.PathValue("slug"), req); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	g, err := a.prov.GrantAccess(r.Context(), provisioner.GrantOptions{Login: req.Login, Slug: t.Slug, Level: req.Level, Expires: req.Expires, Reason: req.Reason})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, g)
}

func (a *API) revokeAccess(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	if err := validate.Slug(r.PathValue("slug")); err != nil {
		return fieldError("slug", err)
	}
	if err := ValidateGrant(r.PathValue("slug"), GrantRequest{Login: r.PathValue("login")}); err != nil {
		return err
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	if err := a.prov.RevokeAccess(r.Context(), r.PathValue("login"), t.Slug); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) report(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	format, err := queryParam(r, "format")
	if err != nil {
		return err
	}
	if format == "" {
		format = "json"
	}
	if err := report.CheckFormat(format); err != nil {
		return fieldError("format", err)
	}
	t, err := a.tenant(r)
	if err != nil {
		return err
	}
	rep, err := a.o.View.CustomerReport(r.Context(), t)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", report.ContentType(format))
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	return report.Render(w, rep, format)
}

func (a *API) listServers(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	servers, err := a.store.ListServers(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, servers)
}

func (a *API) drain(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
		name := r.PathValue("name")
		if err := validate.ServerName(name); err != nil {
			return fieldError("name", err)
		}
		if err := a.store.SetDraining(r.Context(), name, on); err != nil {
			return err
		}
		srv, err := a.store.GetServer(r.Context(), name)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, srv)
	}
}

func (a *API) removeServer(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	name := r.PathValue("name")
	if err := validate.ServerName(name); err != nil {
		return fieldError("name", err)
	}
	if err := a.store.RemoveServer(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	limit, err := limitParam(r, 50, 1000)
	if err != nil {
		return err
	}
	jobs, err := a.store.ListJobs(r.Context(), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, jobs)
}

// maxID is the largest id the document allows (2^53-1, exact in every JSON reader).
const maxID = 1<<53 - 1

func pathID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 || id > maxID {
		return 0, fieldError("id", validate.Errorf("invalid id %q: use a whole number from 1 to %d", v, int64(maxID)))
	}
	return id, nil
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	j, err := a.store.GetJob(r.Context(), id)
	if errors.Is(err, pgx.ErrNoRows) {
		return newProblem(http.StatusNotFound, "not-found", fmt.Sprintf("no job run %d", id))
	}
	if err != nil {
		return fmt.Errorf("job run %d: %w", id, err)
	}
	return writeJSON(w, http.StatusOK, j)
}

func (a *API) auditRuns(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	limit, err := limitParam(r, 20, 1000)
	if err != nil {
		return err
	}
	runs, err := audit.History(r.Context(), a.store, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runs)
}

// AuditRunReport is one recorded audit run with its findings.
type AuditRunReport struct {
	audit.HistoryRun
	Findings []audit.Violation `json:"violations_found"`
}

func (a *API) auditRun(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	format, err := queryParam(r, "format")
	if err != nil {
		return err
	}
	if format != "" && format != "json" && format != "markdown" {
		return fieldError("format", validate.Errorf("invalid format %q: use json or markdown", format))
	}
	run, err := audit.GetRun(r.Context(), a.store, id)
	if err != nil {
		return err
	}
	vs, err := audit.RunViolations(r.Context(), a.store, id)
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []audit.Violation{}
	}
	if format != "markdown" {
		return writeJSON(w, http.StatusOK, AuditRunReport{HistoryRun: run, Findings: vs})
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	_, err = io.WriteString(w, AuditMarkdown(run, vs))
	return err
}

// AuditMarkdown renders a recorded audit run (what the history keeps: the verdict, the
// findings, the report's hash) as Markdown.
func AuditMarkdown(run audit.HistoryRun, vs []audit.Violation) string {
	var b strings.Builder
	verdict := "**PASSED** — no violations"
	if !run.Passed {
		verdict = fmt.Sprintf("**FAILED** — %d violations", run.Violations)
	}
	scope := "the whole fleet"
	if run.Scope != "" {
		scope = "tenant `" + run.Scope + "`"
	}
	fmt.Fprintf(&b, "# Tenant isolation audit, run #%d\n\n| | |\n|---|---|\n", run.ID)
	fmt.Fprintf(&b, "| Result | %s |\n| Date | %s (UTC) |\n| Scope | %s, %d tenants |\n| Live probes | %v |\n| Check evaluations | %d |\n| Node, actor | %s, %s |\n| SHA-256 of the JSON report | `%s` |\n",
		verdict, run.StartedAt.UTC().Format("2006-01-02 15:04:05"), scope, run.Tenants, run.Probes, run.Checks, run.Node, run.Actor, run.ReportSHA256)
	if run.PreviousRun > 0 {
		fmt.Fprintf(&b, "| Since run #%d | %d new, %d resolved |\n", run.PreviousRun, run.New, run.Resolved)
	}
	b.WriteString("\n## Violations\n\n")
	if len(vs) == 0 {
		b.WriteString("None.\n")
		return b.String()
	}
	b.WriteString("| Severity | Check | Tenant | Server | Detail |\n|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s) }
	for _, v := range vs {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", v.Severity, v.Check, cell(v.Tenant), cell(v.Server), cell(v.Detail))
	}
	return b.String()
}

func (a *API) listOperators(w http.ResponseWriter, r *http.Request, _ catalog.Operator) error {
	ops, err := a.store.ListOperators(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ops)
}

func (a *API) revokeOperator(w http.ResponseWriter, r *http.Request, op catalog.Operator) error {
	login := r.PathValue("login")
	if err := catalog.ValidateOperator(login, catalog.RoleViewer); err != nil {
		return fieldError("login", err)
	}
	if login == op.Login {
		return newProblem(http.StatusConflict, "conflict", "an operator cannot revoke itself; ask another admin, or use tenantctl operator revoke")
	}
	if err := a.store.RevokeOperator(r.Context(), login); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
