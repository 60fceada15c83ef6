package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Defaults of the session and login limits.
const (
	DefaultSessionTTL     = 8 * time.Hour
	DefaultMaxFailures    = 5
	DefaultMaxSourceFails = 20
	DefaultFailureWindow  = 15 * time.Minute
	sessionCookie         = "tenantctl_session"
	loginCSRFCookie       = "tenantctl_login_csrf"
	flashCookie           = "tenantctl_flash"
	customersPerPage      = 25
)

// Options configure the console.
type Options struct {
	View *fleetview.View
	Log  hclog.Logger
	// SessionTTL is how long a login lasts (0: DefaultSessionTTL).
	SessionTTL time.Duration
	// Secure marks cookies Secure; set it when serving over TLS.
	Secure bool
	// MaxFailures failed logins of one login, or MaxSourceFailures from one address,
	// within FailureWindow refuse further attempts until the window passes.
	MaxFailures, MaxSourceFailures int
	FailureWindow                  time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Env is the process's environment: the catalog, the provisioner, the tenant
	// migrations and rollup spec of the customer page's migrate and rollup, and the
	// node named in job runs.
	Env *fleetenv.Env
}

// Console serves the pages.
type Console struct {
	o     Options
	env   *fleetenv.Env
	store *catalog.Store
	prov  *provisioner.Provisioner
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the console.
func New(o Options) (*Console, error) {
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.MaxSourceFailures <= 0 {
		o.MaxSourceFailures = DefaultMaxSourceFails
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = DefaultFailureWindow
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Console{o: o, env: o.Env, store: o.Env.Store, prov: o.Env.Provisioner, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	for _, name := range []string{"login", "overview", "customers", "customer", "audit", "jobs", "servers", "error", "new", "confirm", "technicians"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	static, _ := fs.Sub(assets, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.Handle("POST /logout", c.auth(catalog.RoleViewer, c.logout))
	c.mux.Handle("GET /{$}", c.auth(catalog.RoleViewer, c.overview))
	c.mux.Handle("GET /customers", c.auth(catalog.RoleViewer, c.customers))
	c.mux.Handle("GET /customers/{slug}", c.auth(catalog.RoleViewer, c.customer))
	c.mux.Handle("GET /customers/{slug}/report", c.auth(catalog.RoleViewer, c.reportDownload))
	c.mux.Handle("POST /customers/{slug}/delete", c.auth(catalog.RoleAdmin, c.delete))
	c.mux.Handle("POST /customers/{slug}/access", c.auth(catalog.RoleOperator, c.grant))
	c.mux.Handle("POST /customers/{slug}/access/{login}/revoke", c.auth(catalog.RoleOperator, c.revoke))
	c.mux.Handle("GET /audit", c.auth(catalog.RoleViewer, c.audit))
	c.mux.Handle("GET /jobs", c.auth(catalog.RoleViewer, c.jobs))
	c.mux.Handle("GET /servers", c.auth(catalog.RoleViewer, c.servers))
	c.mux.Handle("GET /jump", c.auth(catalog.RoleViewer, c.jump))
	c.mux.Handle("GET /customers/new", c.auth(catalog.RoleOperator, c.newCustomer))
	c.mux.Handle("POST /customers", c.auth(catalog.RoleOperator, c.createCustomer))
	c.mux.Handle("GET /technicians", c.auth(catalog.RoleViewer, c.technicians))
	c.mux.Handle("POST /technicians/grant", c.auth(catalog.RoleOperator, c.technicianGrant))
	c.mux.Handle("GET /confirm/{kind}/{name}/{action}", c.auth(catalog.RoleOperator, c.confirm))
	for _, a := range customerActions {
		c.mux.Handle("POST /customers/{slug}/"+a.name, c.auth(a.role, c.customerAction(a)))
	}
	for _, a := range serverActions {
		c.mux.Handle("POST /servers/{name}/"+a.name, c.auth(a.role, c.serverAction(a)))
	}
	// Everything else is a styled 404, with the header of a logged-in operator.
	c.mux.HandleFunc("/", c.notFound)
	return c, nil
}

// ServeHTTP serves the console, with its security headers on every response.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// Not no-referrer: under it browsers send "Origin: null" with same-site form posts.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		c.render(w, r, http.StatusForbidden, "error", nil, page{Title: "Refused", Error: "cross-site request refused"})
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a form posted from another site: the browser says where a request
// comes from (Sec-Fetch-Site, Origin); a request that says nothing (an old client) must
// still carry the CSRF token, which another site cannot read.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// session is the logged-in operator of a request.
type session struct {
	catalog.Session
	id string
}

func (s *session) Can(role string) bool {
	return s != nil && catalog.RoleRank(s.Operator.Role) >= catalog.RoleRank(role)
}

// pageHandler serves a page for a session; an error it returns is rendered as the
// error page (see [Console.fail]).
type pageHandler func(w http.ResponseWriter, r *http.Request, s *session) error

// auth requires a live session with at least role, and a valid CSRF token on POST.
func (c *Console) auth(role string, h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		var sess catalog.Session
		if err == nil {
			sess, err = c.store.GetSession(r.Context(), ck.Value)
		}
		if err != nil {
			if !errors.Is(err, http.ErrNoCookie) && !errors.Is(err, catalog.ErrBadToken) {
				c.fail(w, r, nil, err)
				return
			}
			if r.Method != http.MethodGet {
				c.render(w, r, http.StatusUnauthorized, "error", nil, page{Title: "Logged out", Error: "your session has ended: log in again"})
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		s := &session{Session: sess, id: ck.Value}
		if r.Method == http.MethodPost {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
				c.render(w, r, http.StatusForbidden, "error", s, page{Title: "Refused", Error: "the form's CSRF token is missing or wrong: reload the page and try again"})
				return
			}
		}
		if !s.Can(role) {
			c.render(w, r, http.StatusForbidden, "error", s, page{Title: "Not allowed",
				Error: fmt.Sprintf("operator %s has role %s; this needs %s", sess.Operator.Login, sess.Operator.Role, role)})
			return
		}
		r = r.WithContext(catalog.WithActor(r.Context(), sess.Operator.Login))
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: c.o.Secure, SameSite: http.SameSiteStrictMode}
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	http.SetCookie(w, c.cookie(loginCSRFCookie, token, 3600))
	c.render(w, r, http.StatusOK, "login", nil, page{Title: "Log in", CSRF: token, Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

// safeNext keeps a post-login redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCSRFCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		c.render(w, r, http.StatusForbidden, "error", nil, page{Title: "Refused", Error: "the login form expired: reload it and try again"})
		return
	}
	login, token := strings.TrimSpace(r.PostFormValue("login")), strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	retry := func(status int, msg string) {
		fresh := randomToken()
		http.SetCookie(w, c.cookie(loginCSRFCookie, fresh, 3600))
		c.render(w, r, status, "login", nil, page{Title: "Log in", CSRF: fresh, Error: msg, Data: map[string]string{"Next": next, "Login": login}})
	}
	if len(login) > 64 || len(token) > 200 {
		retry(http.StatusBadRequest, "invalid login or token")
		return
	}
	byLogin, bySource, err := c.store.LoginFailures(r.Context(), login, source(r), c.o.Now().Add(-c.o.FailureWindow))
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if byLogin >= c.o.MaxFailures || bySource >= c.o.MaxSourceFailures {
		c.o.Log.Warn("console login refused: too many failures", "login", login, "source", source(r))
		w.Header().Set("Retry-After", fmt.Sprint(int(c.o.FailureWindow.Seconds())))
		retry(http.StatusTooManyRequests, fmt.Sprintf("too many failed logins: try again in %s", c.o.FailureWindow))
		return
	}
	op, err := c.store.AuthenticateLogin(r.Context(), login, token)
	if errors.Is(err, catalog.ErrBadToken) {
		if err := c.store.RecordLoginFailure(r.Context(), login, source(r)); err != nil {
			c.o.Log.Error("record failed login", "error", err)
		}
		c.o.Log.Info("console login failed", "login", login, "source", source(r))
		retry(http.StatusUnauthorized, "invalid login or token")
		return
	}
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	id, _, err := c.store.CreateSession(r.Context(), op, c.o.SessionTTL)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, c.cookie(loginCSRFCookie, "", -1))
	http.SetCookie(w, c.cookie(sessionCookie, id, int(c.o.SessionTTL.Seconds())))
	c.o.Log.Info("console login", "login", op.Login, "role", op.Role, "source", source(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.store.DeleteSession(r.Context(), s.id); err != nil {
		return err
	}
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Session *session
	CSRF    string
	Notice  string
	Error   string
	Data    any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, p page) {
	p.Session = s
	if s != nil {
		p.CSRF = s.CSRF
	}
	if kind, msg := c.takeFlash(w, r); kind == "notice" && p.Notice == "" {
		p.Notice = msg
	} else if kind == "error" && p.Error == "" {
		p.Error = msg
	}
	// Whatever reaches a page is scrubbed of registered secrets, errors above all.
	p.Notice, p.Error = secret.Scrub(p.Notice), secret.Scrub(p.Error)
	var b strings.Builder
	if err := c.pages[name].Execute(&b, p); err != nil {
		c.o.Log.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		c.o.Log.Error("console request failed", "path", r.URL.Path, "error", secret.Scrub(err.Error()))
	}
	c.render(w, r, status, "error", s, page{Title: http.StatusText(status), Error: msg})
}
