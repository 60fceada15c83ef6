package serve_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/serve"
)

// consoleClient is a browser without a browser: a cookie jar, no redirects followed.
type consoleClient struct {
	t    *testing.T
	f    *fleet
	base string
	c    *http.Client
	csrf string
}

func newConsoleClient(t *testing.T, f *fleet, base string, tlsConfig *tls.Config) *consoleClient {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &consoleClient{t: t, f: f, base: base, c: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tlsConfig},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *consoleClient) do(method, path string, form url.Values, hdr ...string) (reply, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	c.f.noSecret(c.t, method+" "+path, string(raw))
	if m := csrfRE.FindStringSubmatch(string(raw)); m != nil {
		c.csrf = m[1]
	}
	return reply{StatusCode: resp.StatusCode, Header: resp.Header}, string(raw)
}

func (c *consoleClient) login(login, token string) reply {
	c.t.Helper()
	c.do("GET", "/login", nil)
	resp, _ := c.do("POST", "/login", url.Values{"csrf": {c.csrf}, "login": {login}, "token": {token}, "next": {"/"}})
	if resp.StatusCode == http.StatusSeeOther {
		c.do("GET", "/", nil) // picks up the session's CSRF token
	}
	return resp
}

func TestConsoleRefusesCrossSiteAndForgedPosts(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	c := newConsoleClient(t, f, f.http.URL, nil)
	resp := c.login("test-operator", f.tokens["operator"])
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tenantctl_session" {
			session = ck
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, session.SameSite)
	require.False(t, session.Secure, "plain HTTP (tests): Secure only under TLS")

	resp, body := c.do("GET", "/customers/globex", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Contains(t, body, "Globex Corporation")

	state := func() string {
		tn, err := f.store.GetTenant(context.Background(), "globex")
		require.NoError(t, err)
		return tn.State
	}
	good := url.Values{"csrf": {c.csrf}}
	for name, try := range map[string]func() reply{
		"another site's origin": func() reply {
			r, _ := c.do("POST", "/customers/globex/suspend", good, "Origin", "http://evil.example")
			return r
		},
		"a cross-site fetch": func() reply {
			r, _ := c.do("POST", "/customers/globex/suspend", good, "Sec-Fetch-Site", "cross-site")
			return r
		},
		"an opaque origin": func() reply {
			r, _ := c.do("POST", "/customers/globex/suspend", good, "Origin", "null")
			return r
		},
		"no CSRF token": func() reply {
			r, _ := c.do("POST", "/customers/globex/suspend", url.Values{})
			return r
		},
		"a wrong CSRF token": func() reply {
			r, _ := c.do("POST", "/customers/globex/suspend", url.Values{"csrf": {"forged"}})
			return r
		},
	} {
		require.Equal(t, http.StatusForbidden, try().StatusCode, name)
		require.Equal(t, "active", state(), "%s changed nothing", name)
	}
	// A cross-site login attempt is refused too (login CSRF).
	other := newConsoleClient(t, f, f.http.URL, nil)
	resp, _ = other.do("POST", "/login", url.Values{"login": {"test-operator"}, "token": {f.tokens["operator"]}}, "Origin", "http://evil.example")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = other.do("POST", "/login", url.Values{"login": {"test-operator"}, "token": {f.tokens["operator"]}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no login form token")

	// A viewer's valid form post for an operator action is refused.
	v := newConsoleClient(t, f, f.http.URL, nil)
	require.Equal(t, http.StatusSeeOther, v.login("test-viewer", f.tokens["viewer"]).StatusCode)
	resp, body = v.do("POST", "/customers/globex/suspend", url.Values{"csrf": {v.csrf}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, body, "this needs operator")
	require.Equal(t, "active", state())

	// Logging out ends the session at the server: the old cookie no longer works.
	resp, _ = c.do("POST", "/logout", url.Values{"csrf": {c.csrf}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	replay := newConsoleClient(t, f, f.http.URL, nil)
	u, _ := url.Parse(f.http.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tenantctl_session", Value: session.Value}})
	resp, _ = replay.do("GET", "/customers", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"))
}

func TestConsoleLoginRateLimitAndExpiry(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	ctx := context.Background()
	tok, err := f.store.AddOperator(ctx, "ratelimited", "viewer")
	require.NoError(t, err)
	f.addSecret(tok)
	c := newConsoleClient(t, f, f.http.URL, nil)
	for range 5 {
		resp := c.login("ratelimited", "tctl_wrong")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp := c.login("ratelimited", tok)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the right token is refused too while the limit holds")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	// Other operators are not locked out by someone else's failures.
	require.Equal(t, http.StatusSeeOther, newConsoleClient(t, f, f.http.URL, nil).login("test-viewer", f.tokens["viewer"]).StatusCode)

	// Sessions expire.
	op, err := f.store.Authenticate(ctx, f.tokens["viewer"])
	require.NoError(t, err)
	id, _, err := f.store.CreateSession(ctx, op, 50*time.Millisecond)
	require.NoError(t, err)
	c = newConsoleClient(t, f, f.http.URL, nil)
	u, _ := url.Parse(f.http.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tenantctl_session", Value: id}})
	r, _ := c.do("GET", "/jobs", nil)
	require.Equal(t, 200, r.StatusCode)
	time.Sleep(100 * time.Millisecond)
	r, _ = c.do("GET", "/jobs", nil)
	require.Equal(t, http.StatusSeeOther, r.StatusCode, "an expired session sends the browser to the login form")

	// A revoked operator's sessions end at once.
	tok2, err := f.store.AddOperator(ctx, "leaver", "operator")
	require.NoError(t, err)
	f.addSecret(tok2)
	c = newConsoleClient(t, f, f.http.URL, nil)
	require.Equal(t, http.StatusSeeOther, c.login("leaver", tok2).StatusCode)
	require.NoError(t, f.store.RevokeOperator(ctx, "leaver"))
	r, _ = c.do("GET", "/", nil)
	require.Equal(t, http.StatusSeeOther, r.StatusCode)
}

// TestConsoleSecureCookieUnderTLS: served over TLS, the session cookie is Secure.
func TestConsoleSecureCookieUnderTLS(t *testing.T) {
	t.Parallel()
	f := sharedFleet(t)
	s, err := serve.New(serve.Options{Env: f.env, Secure: true})
	require.NoError(t, err)
	ts := httptestTLS(t, s)
	c := newConsoleClient(t, f, ts.URL, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test server's own certificate
	resp := c.login("test-viewer", f.tokens["viewer"])
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for _, ck := range resp.Cookies() {
		if ck.Name == "tenantctl_session" {
			require.True(t, ck.Secure)
			return
		}
	}
	t.Fatal("no session cookie")
}
