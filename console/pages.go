package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

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

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	o, err := c.o.View.Overview(r.Context())
	if err != nil {
		return err
	}
	tenants, err := c.store.ListTenants(r.Context(), catalog.TenantFilter{})
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "overview", s, page{Title: "Overview", Nav: "overview",
		Data: overviewData{Overview: o, Growth: report.Chart(fleetGrowth(tenants, c.o.Now()))}})
	return nil
}

type overviewData struct {
	fleetview.Overview
	Growth template.HTML
}

// fleetGrowth is the number of customers (not purged) at the end of each of the last
// twelve weeks, and how many were added in each.
func fleetGrowth(tenants []catalog.Tenant, now time.Time) report.Section {
	sec := report.Section{Name: "fleet_growth", Title: "Customers over the last 12 weeks", Columns: []string{"week", "customers", "added"}}
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -7*11-int(now.UTC().Weekday()+6)%7)
	for i := range 12 {
		from, to := start.AddDate(0, 0, 7*i), start.AddDate(0, 0, 7*(i+1))
		total, added := 0, 0
		for _, t := range tenants {
			if t.State == catalog.StatePurged {
				continue
			}
			if t.CreatedAt.Before(to) {
				total++
				if !t.CreatedAt.Before(from) {
					added++
				}
			}
		}
		sec.Rows = append(sec.Rows, []string{from.Format("2006-01-02"), strconv.Itoa(total), strconv.Itoa(added)})
	}
	return sec
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
	// Arrow marks the sorted column's direction.
	Arrow map[string]string
	// Pages are the page links around the current one; Page and LastPage number them.
	Pages          []pageLink
	Page, LastPage int
	Size           int
	Sizes          []int
	// Past says the page asked for was past the last one.
	Past int
}

type pageLink struct {
	N       int
	Href    string
	Current bool
	Gap     bool
}

// pageSizes are the page sizes the customer list offers.
var pageSizes = []int{10, 25, 50, 100}

// formInt reads a positive whole number parameter: absent is def, anything else that is
// not a whole number from 1 to most is bad input (400).
func formInt(q url.Values, name string, def, most int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 1 || n > most {
		return 0, validate.Errorf("invalid %s %q: use a whole number from 1 to %d", name, q.Get(name), most)
	}
	return n, nil
}

func (c *Console) customers(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	size, err := formInt(q, "size", customersPerPage, 100)
	if err == nil && !slices.Contains(pageSizes, size) {
		err = validate.Errorf("invalid size %d: use 10, 25, 50 or 100", size)
	}
	if err != nil {
		return err
	}
	pageNo, err := formInt(q, "page", 1, 1_000_000)
	if err != nil {
		return err
	}
	search := catalog.TenantSearch{Query: q.Get("q"), State: q.Get("state"), Server: q.Get("server"), Sort: q.Get("sort"),
		Limit: size, Offset: (pageNo - 1) * size}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		search.Desc = true
	default:
		return validate.Errorf("invalid order %q: use asc or desc", q.Get("order"))
	}
	if err := search.Validate(); err != nil {
		return err
	}
	pg, err := c.o.View.Customers(r.Context(), search, true)
	if err != nil {
		return err
	}
	last := max(1, (pg.Total+size-1)/size)
	past := 0
	if pageNo > last {
		// Past the end (a stale link, a typed URL): show the last page and say so.
		past, pageNo = pageNo, last
		search.Offset = (last - 1) * size
		if pg, err = c.o.View.Customers(r.Context(), search, true); err != nil {
			return err
		}
	}
	servers, err := c.store.ListServers(r.Context())
	if err != nil {
		return err
	}
	d := customersData{CustomerPage: pg, Query: q, Servers: servers, SortLink: map[string]string{}, Arrow: map[string]string{},
		Sorts:  append(slices.Clone(catalog.TenantSortKeys), catalog.FigureSortKeys...),
		States: []string{catalog.StateActive, catalog.StateSuspended, catalog.StateProvisioning, catalog.StateFailed, catalog.StateDeleting, catalog.StatePurged},
		Page:   pageNo, LastPage: last, Size: size, Sizes: pageSizes, Past: past}
	link := func(mod func(v url.Values)) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		mod(v)
		return "/customers?" + v.Encode()
	}
	pageHref := func(n int) string {
		return link(func(v url.Values) {
			if n == 1 {
				v.Del("page")
			} else {
				v.Set("page", strconv.Itoa(n))
			}
		})
	}
	if len(pg.Customers) > 0 {
		d.From, d.To = search.Offset+1, search.Offset+len(pg.Customers)
	}
	if pageNo > 1 {
		d.Prev = pageHref(pageNo - 1)
	}
	if pageNo < last {
		d.Next = pageHref(pageNo + 1)
	}
	prev := 0
	for n := 1; n <= last; n++ {
		if n != 1 && n != last && (n < pageNo-2 || n > pageNo+2) {
			continue
		}
		if prev != 0 && n > prev+1 {
			d.Pages = append(d.Pages, pageLink{Gap: true})
		}
		d.Pages = append(d.Pages, pageLink{N: n, Href: pageHref(n), Current: n == pageNo})
		prev = n
	}
	for _, k := range d.Sorts {
		d.SortLink[k] = link(func(v url.Values) {
			v.Set("sort", k)
			v.Del("page")
			// Figures sort largest first on the first click: who has the most open incidents.
			figure := slices.Contains(catalog.FigureSortKeys, k)
			switch {
			case search.Sort == k:
				if search.Desc {
					v.Set("order", "asc")
				} else {
					v.Set("order", "desc")
				}
			case figure:
				v.Set("order", "desc")
			default:
				v.Del("order")
			}
		})
	}
	if search.Desc {
		d.Arrow[search.Sort] = " ↓"
	} else {
		d.Arrow[search.Sort] = " ↑"
	}
	c.render(w, r, http.StatusOK, "customers", s, page2("Customers", "customers", d))
	return nil
}

func page2(title, nav string, data any) page { return page{Title: title, Nav: nav, Data: data} }

type customerData struct {
	fleetview.Detail
	Report      any
	ReportError string
	Buttons     []Button
	// PurgeAt is when a deleted customer's data is purged (by purge --expired with the
	// default retention).
	PurgeAt *time.Time
}

func (c *Console) customer(w http.ResponseWriter, r *http.Request, s *session) error {
	slug := r.PathValue("slug")
	if err := validate.Slug(slug); err != nil {
		return err
	}
	d, err := c.o.View.Customer(r.Context(), slug)
	if err != nil {
		return err
	}
	data := customerData{Detail: d, Buttons: customerButtons(s, d.Slug, d.State)}
	if d.State == catalog.StateDeleting && d.DeletedAt != nil {
		at := d.DeletedAt.Add(provisioner.DefaultRetention)
		data.PurgeAt = &at
	}
	if rep, err := c.o.View.CustomerReport(r.Context(), d.Tenant); err != nil {
		_, data.ReportError = statusOf(err)
	} else if frag, err := report.Fragment(rep); err != nil {
		data.ReportError = err.Error()
	} else {
		data.Report = frag
	}
	c.render(w, r, http.StatusOK, "customer", s, page{Title: d.Name, Nav: "customers", Data: data})
	return nil
}

func (c *Console) reportDownload(w http.ResponseWriter, r *http.Request, s *session) error {
	t, err := c.tenant(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "html"
	}
	if err := report.CheckFormat(format); err != nil {
		return err
	}
	rep, err := c.o.View.CustomerReport(r.Context(), t)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", report.ContentType(format))
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-report%s"`, t.Slug, report.Extension(format)))
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	if err := report.Render(w, rep, format); err != nil {
		c.o.Log.Error("render report", "tenant", t.Slug, "error", err)
	}
	return nil
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

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	hist, err := audit.History(r.Context(), c.store, 50)
	if err != nil {
		return err
	}
	d := auditData{History: hist}
	if len(hist) > 0 {
		d.Latest = &hist[0]
		if d.Violations, err = audit.RunViolations(r.Context(), c.store, hist[0].ID); err != nil {
			return err
		}
		if d.Changes, err = audit.RunChanges(r.Context(), c.store, hist[0].ID); err != nil {
			return err
		}
	}
	c.render(w, r, http.StatusOK, "audit", s, page2("Audit", "audit", d))
	return nil
}

func (c *Console) jobs(w http.ResponseWriter, r *http.Request, s *session) error {
	jobs, err := c.store.ListJobs(r.Context(), 100)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "jobs", s, page2("Jobs", "jobs", jobs))
	return nil
}

func (c *Console) servers(w http.ResponseWriter, r *http.Request, s *session) error {
	o, err := c.o.View.Overview(r.Context())
	if err != nil {
		return err
	}
	servers, err := c.store.ListServers(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "servers", s, page2("Servers", "servers", map[string]any{"Servers": servers, "Overview": o}))
	return nil
}
