package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/console"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// One tenant server: these tests are about the pages, not placement. The browser tests
// (serve/) check the same pages in Chrome; these read them as text, as a user sees it.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, 1)) }

// site is the console on its own catalog behind a real HTTP server: server pg-a, customer
// acme, and one operator of each role.
type site struct {
	store   *catalog.Store
	url     string
	tokens  map[string]string
	secrets []string
}

func newSite(t *testing.T) *site {
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
	fenv := fleetenv.New(fleetenv.Options{Store: store, Node: "console-test"})
	require.NoError(t, fenv.Start(ctx))
	t.Cleanup(fenv.Stop)
	p := fenv.Provisioner
	dsn := env.Servers[0].AdminDSN(t)
	_, err = p.AddServer(ctx, provisioner.AddServerOptions{Name: "pg-a", DSN: dsn, Capacity: 20})
	require.NoError(t, err)
	s := &site{store: store, tokens: map[string]string{}, secrets: []string{passwordOf(dsn)}}
	tn, err := p.Create(ctx, provisioner.CreateOptions{Slug: "acme", Name: "Acme Corp", Domain: "acme.example"})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = p.Delete(context.Background(), provisioner.DeleteOptions{Slug: "acme", Confirm: "acme", Purge: true})
	})
	pw, err := store.Credential(ctx, tn.ID, "app")
	require.NoError(t, err)
	s.secrets = append(s.secrets, pw)
	for _, role := range catalog.Roles {
		tok, err := store.AddOperator(ctx, "con-"+role, role)
		require.NoError(t, err)
		s.tokens[role] = tok
		s.secrets = append(s.secrets, tok)
	}
	c, err := console.New(console.Options{Env: fenv, View: fleetview.New(fenv, nil, nil)})
	require.NoError(t, err)
	h := httptest.NewServer(c)
	t.Cleanup(h.Close)
	s.url = h.URL
	return s
}

func passwordOf(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	colon := strings.LastIndex(dsn[:at], ":")
	return dsn[colon+1 : at]
}

// browser is one user's session: cookies kept, redirects followed, and each page read
// as its visible text.
type browser struct {
	t    *testing.T
	site *site
	c    *http.Client
	// csrf is the token of the last page's forms.
	csrf string
}

func (s *site) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, site: s, c: &http.Client{Jar: jar}}
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	hiddenRE = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// text is what a user reads on the page: no markup, entities decoded, spaces collapsed.
func text(page string) string {
	page = hiddenRE.ReplaceAllString(page, " ")
	page = tagRE.ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(page)), " ")
}

// do requests a page (following redirects) and returns its status, final path and text.
func (b *browser) do(method, path string, form url.Values) (status int, at, seen string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.url+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	page := string(raw)
	require.Equal(b.t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Contains(b.t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	for _, sec := range b.site.secrets {
		require.NotContains(b.t, page, sec, "%s %s shows a secret", method, path)
	}
	if m := csrfRE.FindStringSubmatch(page); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return resp.StatusCode, resp.Request.URL.Path, text(page)
}

func (b *browser) get(path string) (int, string, string) { return b.do("GET", path, nil) }

// post sends a form as the page's forms do, with the CSRF token of the last page.
func (b *browser) post(path string, fields ...string) (int, string, string) {
	b.t.Helper()
	form := url.Values{"csrf": {b.csrf}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return b.do("POST", path, form)
}

func (b *browser) login(role string) {
	b.t.Helper()
	status, at, seen := b.get("/login")
	require.Equal(b.t, 200, status)
	require.Equal(b.t, "/login", at)
	require.Contains(b.t, seen, "Log in")
	status, at, seen = b.post("/login", "login", "con-"+role, "token", b.site.tokens[role], "next", "/customers/acme")
	require.Equal(b.t, 200, status, seen)
	require.Equal(b.t, "/customers/acme", at, "the login goes on to the page asked for")
	require.Contains(b.t, seen, "con-"+role+" ("+role+")", "the header names who is logged in")
}

func (s *site) state(t *testing.T, slug string) string {
	t.Helper()
	tn, err := s.store.GetTenant(context.Background(), slug)
	require.NoError(t, err)
	return tn.State
}

// TestConsoleLogin: no page without a session, a wrong token is refused with a message
// and counted, and logging out ends the session.
func TestConsoleLogin(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser(t)
	status, at, seen := b.get("/customers")
	require.Equal(t, 200, status)
	require.Equal(t, "/login", at, "a page without a session sends the user to log in")
	require.NotContains(t, seen, "Acme Corp")

	status, _, seen = b.post("/login", "login", "con-viewer", "token", "tctl_wrong")
	require.Equal(t, 401, status)
	require.Contains(t, seen, "invalid login or token")
	byLogin, _, err := s.store.LoginFailures(context.Background(), "con-viewer", "127.0.0.1", time.Now().Add(-time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, byLogin, "the failure is counted")

	// A login form posted without its CSRF cookie's token is refused.
	b.csrf = "forged"
	status, _, seen = b.post("/login", "login", "con-viewer", "token", s.tokens["viewer"])
	require.Equal(t, 403, status)
	require.Contains(t, seen, "the login form expired")

	b.login("viewer")
	status, at, seen = b.get("/")
	require.Equal(t, 200, status)
	require.Equal(t, "/", at)
	require.Contains(t, seen, "Overview")
	status, at, _ = b.post("/logout")
	require.Equal(t, 200, status)
	require.Equal(t, "/login", at)
	_, at, _ = b.get("/customers")
	require.Equal(t, "/login", at, "the session ended")
}

// TestConsoleCustomerPageByRole: what each role sees on a customer's page, and that an
// action a role may not take is refused, whatever the form says.
func TestConsoleCustomerPageByRole(t *testing.T) {
	t.Parallel()
	s := newSite(t)

	viewer := s.browser(t)
	viewer.login("viewer")
	_, _, seen := viewer.get("/customers/acme")
	for _, want := range []string{"Acme Corp", "active", "acme.example", "pg-a", "no MSP access", "not rolled up yet"} {
		require.Contains(t, seen, want)
	}
	for _, button := range []string{"Suspend", "Grant access", "Delete"} {
		require.NotContains(t, seen, button, "a viewer is offered no action")
	}
	status, _, seen := viewer.post("/customers/acme/suspend")
	require.Equal(t, 403, status)
	require.Contains(t, seen, "operator con-viewer has role viewer; this needs operator")
	require.Equal(t, "active", s.state(t, "acme"))

	_, _, seen = viewer.get("/customers")
	require.Contains(t, seen, "Acme Corp")
	status, _, seen = viewer.get("/customers/nobody-here")
	require.Equal(t, 404, status)
	require.NotContains(t, seen, "Acme Corp")

	op := s.browser(t)
	op.login("operator")
	_, _, seen = op.get("/customers/acme")
	require.Contains(t, seen, "Suspend")
	require.Contains(t, seen, "Grant access")
	require.NotContains(t, seen, "Type the slug to delete", "deleting is an admin's")

	// A post without the session's CSRF token changes nothing.
	good := op.csrf
	op.csrf = "forged"
	status, _, seen = op.post("/customers/acme/suspend")
	require.Equal(t, 403, status)
	require.Contains(t, seen, "CSRF token is missing or wrong")
	require.Equal(t, "active", s.state(t, "acme"))
	op.csrf = good

	// Suspend: the page comes back with the notice and the new state; resume is offered.
	status, at, seen := op.post("/customers/acme/suspend")
	require.Equal(t, 200, status)
	require.Equal(t, "/customers/acme", at)
	require.Contains(t, seen, "suspended: its application can no longer log in")
	require.Contains(t, seen, "Resume")
	require.Equal(t, "suspended", s.state(t, "acme"))
	_, _, seen = op.get("/customers/acme")
	require.NotContains(t, seen, "can no longer log in", "a notice is shown once")
	_, _, seen = op.post("/customers/acme/resume")
	require.Contains(t, seen, "resumed: its application may log in again")
	require.Equal(t, "active", s.state(t, "acme"))

	// Access: bad input is shown as an error and grants nothing; a grant is listed,
	// and revoked.
	_, _, seen = op.post("/customers/acme/access", "login", "Bad Login!", "level", "read")
	require.Contains(t, seen, "invalid")
	require.Contains(t, seen, "no MSP access")
	_, _, seen = op.post("/customers/acme/access", "login", "tech1", "level", "read", "expires", "2h", "reason", "INC-7")
	require.Contains(t, seen, "access granted to tech1 (read)")
	require.Regexp(t, `tech1 read .* con-operator INC-7`, seen)
	_, _, seen = op.post("/customers/acme/access/tech1/revoke")
	require.Contains(t, seen, "access of tech1 revoked")
	require.Contains(t, seen, "no MSP access")

	// Delete is an admin's, and asks for the slug typed again.
	status, _, _ = op.post("/customers/acme/delete", "confirm", "acme")
	require.Equal(t, 403, status)
	admin := s.browser(t)
	admin.login("admin")
	_, _, seen = admin.post("/customers/acme/delete", "confirm", "acm")
	require.Contains(t, seen, "acme")
	require.Equal(t, "active", s.state(t, "acme"), "a wrong confirmation deletes nothing")
	_, at, seen = admin.post("/customers/acme/delete", "confirm", "acme")
	require.Equal(t, "/customers", at)
	require.Contains(t, seen, "acme deleted: access revoked")
	require.Equal(t, "deleting", s.state(t, "acme"))
}

// TestConsoleNewCustomer: the form refuses bad input showing the form again, filled
// in, with the reason; good input creates the customer and shows its page.
func TestConsoleNewCustomer(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser(t)
	b.login("operator")
	status, _, seen := b.get("/customers/new")
	require.Equal(t, 200, status)
	require.Contains(t, seen, "Add customer")
	require.Contains(t, seen, "pg-a (1/20)", "the servers to choose from, with their room")

	status, _, seen = b.post("/customers", "name", "Bad Co", "slug", "Bad Slug", "domain", "bad.example")
	require.Equal(t, 400, status)
	require.Contains(t, seen, "invalid slug")
	_, err := s.store.GetTenant(context.Background(), "bad-co")
	require.ErrorIs(t, err, catalog.ErrTenantNotFound)
	status, _, seen = b.post("/customers", "name", "Other Acme", "slug", "acme", "domain", "other.example")
	require.Equal(t, 409, status)
	require.Contains(t, seen, "acme")

	status, at, seen := b.post("/customers", "name", "Globex Inc", "slug", "globex", "domain", "globex.example", "server", "pg-a")
	require.Equal(t, 200, status, seen)
	require.Equal(t, "/customers/globex", at)
	require.Contains(t, seen, "globex created on pg-a")
	require.Contains(t, seen, "Globex Inc")
	tn, err := s.store.GetTenant(context.Background(), "globex")
	require.NoError(t, err)
	require.Equal(t, "active", tn.State)
	pw, err := s.store.Credential(context.Background(), tn.ID, "app")
	require.NoError(t, err)
	s.secrets = append(s.secrets, pw)
	_, _, seen = b.get("/customers/globex")
	require.Contains(t, seen, tn.Database)
	_, _, seen = b.post("/customers/globex/delete", "confirm", "globex")
	require.Contains(t, seen, "this needs admin")
	admin := s.browser(t)
	admin.login("admin")
	_, _, seen = admin.post("/customers/globex/delete", "confirm", "globex")
	require.Contains(t, seen, "globex deleted")
}
