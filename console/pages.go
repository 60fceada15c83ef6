package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/tenantctl/tenantctl/audit"
	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/report"
	"github.com/tenantctl/tenantctl/secret"
)

// statusOf maps an error to the status and message a page shows.
func statusOf(err error) (int, string) {
	msg := secret.Scrub(err.Error())
	switch {
	case errors.Is(err, catalog.ErrTenantNotFound), errors.Is(err, catalog.ErrServerNotFound),
		errors.Is(err, catalog.ErrNoGrant), errors.Is(err, audit.ErrRunNotFound), errors.Is(err, pgx.ErrNoRows):
		return http.StatusNotFound, msg
	case errors.Is(err, catalog.ErrTenantExists), errors.Is(err, provisioner.ErrBusy),
		errors.Is(err, provisioner.ErrWrongState), errors.Is(err, catalog.ErrNoWarehouse):
		return http.StatusConflict, msg
	case errors.Is(err, validate.ErrInvalid):
		return http.StatusBadRequest, msg
	}
	return http.StatusInternalServerError, "internal error: " + msg
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	o, err := c.o.View.Overview(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "overview", s, page{Title: "Overview", Nav: "overview", Data: o})
}

type customersData struct {
	fleetview.CustomerPage
	Query    url.Values
	States   []string
	Servers  []catalog.Server
	Sorts    []string
	From, To int
	Prev     string
	Next     string
	SortLink map[string]string
}

func (c *Console) customers(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	search := catalog.TenantSearch{Query: q.Get("q"), State: q.Get("state"), Server: q.Get("server"), Sort: q.Get("sort"),
		Desc: q.Get("order") == "desc", Limit: customersPerPage}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		search.Offset = (p - 1) * customersPerPage
	}
	if err := search.Validate(); err != nil {
		c.fail(w, r, s, err)
		return
	}
	pg, err := c.o.View.Customers(r.Context(), search, true)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	servers, err := c.store.ListServers(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := customersData{CustomerPage: pg, Query: q, Servers: servers, Sorts: catalog.TenantSortKeys, SortLink: map[string]string{},
		States: []string{catalog.StateActive, catalog.StateSuspended, catalog.StateProvisioning, catalog.StateFailed, catalog.StateDeleting, catalog.StatePurged}}
	page := search.Offset/customersPerPage + 1
	link := func(mod func(v url.Values)) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		mod(v)
		return "/customers?" + v.Encode()
	}
	if len(pg.Customers) > 0 {
		d.From, d.To = search.Offset+1, search.Offset+len(pg.Customers)
	}
	if page > 1 {
		d.Prev = link(func(v url.Values) { v.Set("page", strconv.Itoa(page-1)) })
	}
	if search.Offset+len(pg.Customers) < pg.Total {
		d.Next = link(func(v url.Values) { v.Set("page", strconv.Itoa(page+1)) })
	}
	for _, k := range catalog.TenantSortKeys {
		d.SortLink[k] = link(func(v url.Values) {
			v.Set("sort", k)
			v.Del("page")
			if search.Sort == k && !search.Desc {
				v.Set("order", "desc")
			} else {
				v.Del("order")
			}
		})
	}
	c.render(w, r, http.StatusOK, "customers", s, page2("Customers", "customers", d))
}

func page2(title, nav string, data any) page { return page{Title: title, Nav: nav, Data: data} }

type customerData struct {
	fleetview.Detail
	Report      any
	ReportError string
}

func (c *Console) customer(w http.ResponseWriter, r *http.Request, s *session) {
	slug := r.PathValue("slug")
	if err := validate.Slug(slug); err != nil {
		c.fail(w, r, s, err)
		return
	}
	d, err := c.o.View.Customer(r.Context(), slug)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := customerData{Detail: d}
	if rep, err := c.o.View.CustomerReport(r.Context(), d.Tenant); err != nil {
		_, data.ReportError = statusOf(err)
	} else if frag, err := report.Fragment(rep); err != nil {
		data.ReportError = err.Error()
	} else {
		data.Report = frag
	}
	c.render(w, r, http.StatusOK, "customer", s, page{Title: d.Name, Nav: "customers", Data: data})
}

func (c *Console) reportDownload(w http.ResponseWriter, r *http.Request, s *session) {
	t, err := c.tenant(r)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "html"
	}
	if err := report.CheckFormat(format); err != nil {
		c.fail(w, r, s, err)
		return
	}
	rep, err := c.o.View.CustomerReport(r.Context(), t)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", report.ContentType(format))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-report%s"`, t.Slug, report.Extension(format)))
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	if err := report.Render(w, rep, format); err != nil {
		c.o.Log.Error("render report", "tenant", t.Slug, "error", err)
	}
}

func (c *Console) tenant(r *http.Request) (catalog.Tenant, error) {
	slug := r.PathValue("slug")
	if err := validate.Slug(slug); err != nil {
		return catalog.Tenant{}, err
	}
	return c.store.GetTenant(r.Context(), slug)
}

type auditData struct {
	Latest     *audit.HistoryRun
	Violations []audit.Violation
	Changes    *audit.Changes
	History    []audit.HistoryRun
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	hist, err := audit.History(r.Context(), c.store, 50)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d := auditData{History: hist}
	if len(hist) > 0 {
		d.Latest = &hist[0]
		if d.Violations, err = audit.RunViolations(r.Context(), c.store, hist[0].ID); err != nil {
			c.fail(w, r, s, err)
			return
		}
		if d.Changes, err = audit.RunChanges(r.Context(), c.store, hist[0].ID); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	c.render(w, r, http.StatusOK, "audit", s, page2("Audit", "audit", d))
}

func (c *Console) jobs(w http.ResponseWriter, r *http.Request, s *session) {
	jobs, err := c.store.ListJobs(r.Context(), 100)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "jobs", s, page2("Jobs", "jobs", jobs))
}

func (c *Console) servers(w http.ResponseWriter, r *http.Request, s *session) {
	o, err := c.o.View.Overview(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	servers, err := c.store.ListServers(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "servers", s, page2("Servers", "servers", map[string]any{"Servers": servers, "Overview": o}))
}
