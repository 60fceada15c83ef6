package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleet"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/jobs"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/rollout"
	"github.com/tenantctl/tenantctl/rollup"
)

// optionalSession reads the session of a request that does not need one (a 404 page
// still shows the header of a logged-in operator).
func (c *Console) optionalSession(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	sess, err := c.store.GetSession(r.Context(), ck.Value)
	if err != nil {
		return nil
	}
	return &session{Session: sess, id: ck.Value}
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusNotFound, "error", c.optionalSession(r), page{Title: "Not found",
		Error: "there is no page at " + r.URL.Path})
}

// jump is the header's quick switch: an exact slug, name or domain opens the customer,
// a search with one match too, anything else lists the matches.
func (c *Console) jump(w http.ResponseWriter, r *http.Request, s *session) error {
	to := strings.TrimSpace(r.URL.Query().Get("to"))
	if to == "" {
		http.Redirect(w, r, "/customers", http.StatusSeeOther)
		return nil
	}
	search := catalog.TenantSearch{Query: to, Limit: 2}
	if err := search.Validate(); err != nil {
		return err
	}
	if t, err := c.store.GetTenant(r.Context(), strings.ToLower(to)); err == nil {
		http.Redirect(w, r, "/customers/"+url.PathEscape(t.Slug), http.StatusSeeOther)
		return nil
	}
	tenants, total, err := c.store.SearchTenants(r.Context(), search)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if strings.EqualFold(t.Name, to) || strings.EqualFold(t.Domain, to) {
			http.Redirect(w, r, "/customers/"+url.PathEscape(t.Slug), http.StatusSeeOther)
			return nil
		}
	}
	if total == 1 {
		http.Redirect(w, r, "/customers/"+url.PathEscape(tenants[0].Slug), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/customers?q="+url.QueryEscape(to), http.StatusSeeOther)
	return nil
}

type newCustomerData struct {
	Servers []catalog.Server
	Form    url.Values
}

func (c *Console) newCustomerPage(w http.ResponseWriter, r *http.Request, s *session, status int, form url.Values, msg string) {
	servers, err := c.store.ListServers(r.Context())
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if form == nil {
		form = url.Values{}
	}
	c.render(w, r, status, "new", s, page{Title: "Add customer", Nav: "customers", Error: msg, Data: newCustomerData{Servers: servers, Form: form}})
}

func (c *Console) newCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	c.newCustomerPage(w, r, s, http.StatusOK, nil, "")
	return nil
}

// createCustomer runs tenant create with the form's values (labels one k=v a line or
// comma-separated). Bad input shows the form again, filled in, with a 400.
func (c *Console) createCustomer(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return validate.Invalid(err)
	}
	form := r.PostForm
	var labels []string
	for _, l := range strings.FieldsFunc(form.Get("labels"), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	o := provisioner.CreateOptions{Slug: strings.TrimSpace(form.Get("slug")), Name: strings.TrimSpace(form.Get("name")),
		Domain: strings.TrimSpace(form.Get("domain")), ContactEmail: strings.TrimSpace(form.Get("contact")),
		Server: form.Get("server"), Labels: labels}
	probe := o
	if _, err := probe.Validate(); err != nil {
		_, msg := statusOf(err)
		c.newCustomerPage(w, r, s, http.StatusBadRequest, form, msg)
		return nil
	}
	t, err := c.prov.Create(r.Context(), o)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			return err
		}
		c.newCustomerPage(w, r, s, status, form, msg)
		return nil
	}
	c.flash(w, "notice", fmt.Sprintf("%s created on %s: database %s", t.Slug, t.Server, t.Database))
	http.Redirect(w, r, "/customers/"+url.PathEscape(t.Slug), http.StatusSeeOther)
	return nil
}

// technician is one person with access: an operator of the console, an MSP login
// holding grants on customers' databases, or both (the same login).
type technician struct {
	Login    string
	Operator *catalog.Operator
	Grants   []catalog.AccessGrant
}

type techniciansData struct {
	Technicians []technician
	Customers   []catalog.Tenant
	Now         time.Time
}

func (c *Console) technicians(w http.ResponseWriter, r *http.Request, s *session) error {
	ops, err := c.store.ListOperators(r.Context())
	if err != nil {
		return err
	}
	grants, err := c.store.ListAccessGrants(r.Context(), "", "")
	if err != nil {
		return err
	}
	now := c.o.Now()
	by := map[string]*technician{}
	get := func(login string) *technician {
		if by[login] == nil {
			by[login] = &technician{Login: login}
		}
		return by[login]
	}
	for i := range ops {
		if ops[i].Active() {
			get(ops[i].Login).Operator = &ops[i]
		}
	}
	for _, g := range grants {
		if g.ExpiresAt == nil || g.ExpiresAt.After(now) {
			t := get(g.Login)
			t.Grants = append(t.Grants, g)
		}
	}
	d := techniciansData{Now: now}
	for _, t := range by {
		d.Technicians = append(d.Technicians, *t)
	}
	sort.Slice(d.Technicians, func(i, j int) bool { return d.Technicians[i].Login < d.Technicians[j].Login })
	if s.Can(catalog.RoleOperator) {
		all, err := c.store.ListTenants(r.Context(), catalog.TenantFilter{})
		if err != nil {
			return err
		}
		for _, t := range all {
			if t.State == catalog.StateActive || t.State == catalog.StateSuspended {
				d.Customers = append(d.Customers, t)
			}
		}
	}
	c.render(w, r, http.StatusOK, "technicians", s, page2("Technicians", "technicians", d))
	return nil
}

func (c *Console) technicianGrant(w http.ResponseWriter, r *http.Request, s *session) error {
	slug := r.PostFormValue("slug")
	g, err := c.grantAccess(r, slug)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			c.o.Log.Error("console grant failed", "error", err)
		}
		c.flash(w, "error", msg)
	} else {
		c.flash(w, "notice", "access to "+slug+" granted to "+g.Login+" ("+g.Level+")")
	}
	http.Redirect(w, r, "/technicians", http.StatusSeeOther)
	return nil
}

// action is a button on a customer or server page.
type action struct {
	name, label, role string
	// disruptive actions go through a confirmation page first.
	disruptive bool
	// what the confirmation page says will happen.
	explain string
	// states the action is offered in (customers).
	states []string
}

var customerActions = []action{
	{name: "suspend", label: "Suspend", role: catalog.RoleOperator, disruptive: true, states: []string{catalog.StateActive},
		explain: "Its application can no longer log in and its sessions end, until it is resumed. Its data stays."},
	{name: "resume", label: "Resume", role: catalog.RoleOperator, states: []string{catalog.StateSuspended}},
	{name: "migrate", label: "Migrate", role: catalog.RoleOperator, states: []string{catalog.StateActive, catalog.StateSuspended}},
	{name: "rollup", label: "Roll up", role: catalog.RoleOperator, states: []string{catalog.StateActive, catalog.StateSuspended}},
	{name: "rotate", label: "Rotate credentials", role: catalog.RoleAdmin, states: []string{catalog.StateActive, catalog.StateSuspended}},
	{name: "cancel-delete", label: "Cancel delete", role: catalog.RoleAdmin, states: []string{catalog.StateDeleting}},
	{name: "purge", label: "Purge now", role: catalog.RoleAdmin, disruptive: true, states: []string{catalog.StateDeleting},
		explain: "Its database and roles are destroyed now instead of at the end of the retention period. This cannot be undone."},
}

var serverActions = []action{
	{name: "drain", label: "Drain", role: catalog.RoleAdmin, disruptive: true,
		explain: "No new customer is placed on it (its customers stay where they are) until it is undrained."},
	{name: "undrain", label: "Undrain", role: catalog.RoleAdmin},
}

// Button is an action as a customer or server page offers it.
type Button struct {
	Name, Label string
	Disruptive  bool
	// Href is the confirmation page of a disruptive action; others post at once.
	Href, Action string
}

func customerButtons(s *session, slug, state string) []Button {
	var out []Button
	for _, a := range customerActions {
		if !s.Can(a.role) || !containsString(a.states, state) {
			continue
		}
		b := Button{Name: a.name, Label: a.label, Disruptive: a.disruptive, Action: "/customers/" + url.PathEscape(slug) + "/" + a.name}
		if a.disruptive {
			b.Href = "/confirm/customers/" + url.PathEscape(slug) + "/" + a.name
		}
		out = append(out, b)
	}
	return out
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

type confirmData struct {
	Kind, Name, Label, Explain, Action, Back string
}

// confirm is the step between a disruptive button and its action: it says what will
// happen and posts only when confirmed.
func (c *Console) confirm(w http.ResponseWriter, r *http.Request, s *session) error {
	kind, name, act := r.PathValue("kind"), r.PathValue("name"), r.PathValue("action")
	var list []action
	switch kind {
	case "customers":
		if err := validate.Slug(name); err != nil {
			return err
		}
		list = customerActions
	case "servers":
		if err := validate.ServerName(name); err != nil {
			return err
		}
		list = serverActions
	default:
		c.notFound(w, r)
		return nil
	}
	for _, a := range list {
		if a.name == act && a.disruptive {
			if !s.Can(a.role) {
				c.render(w, r, http.StatusForbidden, "error", s, page{Title: "Not allowed", Error: "this needs the role " + a.role})
				return nil
			}
			back := "/customers/" + url.PathEscape(name)
			if kind == "servers" {
				back = "/servers"
			}
			c.render(w, r, http.StatusOK, "confirm", s, page{Title: a.label + " " + name + "?", Nav: kind,
				Data: confirmData{Kind: kind, Name: name, Label: a.label, Explain: a.explain, Action: "/" + kind + "/" + url.PathEscape(name) + "/" + a.name, Back: back}})
			return nil
		}
	}
	c.notFound(w, r)
	return nil
}

func (c *Console) customerAction(a action) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		slug := r.PathValue("slug")
		if err := validate.Slug(slug); err != nil {
			return err
		}
		ctx := r.Context()
		var notice string
		var err error
		switch a.name {
		case "suspend":
			notice, err = "suspended: its application can no longer log in", c.prov.Suspend(ctx, slug)
		case "resume":
			notice, err = "resumed: its application may log in again", c.prov.Resume(ctx, slug)
		case "rotate":
			notice, err = "credentials rotated: the application must read its new DSN", c.prov.RotateCredentials(ctx, slug)
		case "purge":
			notice, err = "purged: its database and roles are gone", c.prov.Purge(ctx, slug, slug)
		case "cancel-delete":
			notice, err = "delete cancelled: the customer is suspended (resume it to let its application log in)", c.prov.CancelDelete(ctx, slug)
		case "migrate":
			var res rollout.Result
			res, err = jobs.Migrate.Run(ctx, c.env, jobs.MigrateOptions(c.env, fleet.Options{Tenant: slug}))
			notice = fmt.Sprintf("migrated: %d migrated, %d failed", len(res.Migrated), len(res.Failed))
		case "rollup":
			var o rollup.Options
			if o, err = jobs.RollupOptions(c.env, fleet.Options{Tenant: slug}); err == nil {
				_, err = jobs.Rollup.Run(ctx, c.env, o)
			}
			notice = "rolled up into the warehouse"
		default:
			err = errors.New("unknown action " + a.name)
		}
		if a.name == "purge" && err == nil {
			// A purged customer has no page any more.
			c.flash(w, "notice", slug+" purged: its database and roles are gone")
			http.Redirect(w, r, "/customers", http.StatusSeeOther)
			return nil
		}
		c.done(w, r, slug, notice, err)
		return nil
	}
}

func (c *Console) serverAction(a action) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		name := r.PathValue("name")
		err := validate.ServerName(name)
		if err == nil {
			err = c.store.SetDraining(r.Context(), name, a.name == "drain")
		}
		if err != nil {
			_, msg := statusOf(err)
			c.flash(w, "error", msg)
		} else {
			c.flash(w, "notice", name+": "+map[string]string{"drain": "draining, no new customer is placed on it", "undrain": "takes new customers again"}[a.name])
		}
		http.Redirect(w, r, "/servers", http.StatusSeeOther)
		return nil
	}
}
