package serve_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds Debian's chromium. The browser tests need it and fail without it:
// .ci/run installs it (apt-get install chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("the browser tests need Debian's chromium package and it is not installed: apt-get install -y chromium (.ci/run does it)")
	return ""
}

// screenshotDir is where the browser tests put their screenshots: $TENANTCTL_SCREENSHOT_DIR,
// else a directory under the system's temp dir that outlives the test (its path is logged).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TENANTCTL_SCREENSHOT_DIR")
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "tenantctl-console-screenshots-")
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("console screenshots in %s", dir)
	return dir
}

// browser is one headless chromium tab on the console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	f    *fleet
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		// Say where the browser is and what it shows.
		url, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		b.t.Fatalf("browser: %v; the page: %s", err, url)
	}
}

// navigates runs steps that make the browser load another page (a form posted, a link
// followed) and returns once that page has replaced the current one and finished
// loading. Waiting for a selector alone is not enough: the old page may match it, or a
// query may land on the old page's nodes while they are being replaced ("No node with
// given id", seen under load).
func (b *browser) navigates(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`window.__stale = true`))
	b.do(steps...)
	deadline := time.Now().Add(15 * time.Second)
	for {
		loaded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!window.__stale && document.readyState === "complete"`))
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: the next page did not load within 15s (last error: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	return strings.TrimSpace(s)
}

func (b *browser) eval(js string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
	require.NoError(b.t, err, js)
	return v
}

// shot saves a screenshot of the page and checks its HTML holds no secret.
func (b *browser) shot(name string) {
	b.t.Helper()
	html, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(b.t, err)
	b.f.noSecret(b.t, "page "+name, html)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644))
}

func (b *browser) login(login string) {
	b.t.Helper()
	role := strings.TrimPrefix(login, "test-")
	b.do(chromedp.Navigate(b.base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), login),
		chromedp.SendKeys(chromedp.CSS("#token"), b.f.tokens[role]))
	b.navigates(chromedp.Click(chromedp.CSS("#submit")))
	b.do(chromedp.WaitVisible(chromedp.CSS("#whoami")))
	require.Equal(b.t, login+" ("+role+")", b.text("#whoami"))
}

// TestConsoleInABrowser drives the console in a real browser (Debian's chromium,
// headless): log in, read the overview, search, open a customer and check its counts
// against the warehouse, grant and revoke access as an operator, visit every page, and
// see a viewer refused. Every page is saved as a screenshot and checked for secrets.
func TestConsoleInABrowser(t *testing.T) {
	f := sharedFleet(t)
	exe := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	)
	defer cancelAlloc()
	bctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	// Start the browser with the tab's own context: the first action binds its life.
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	b := &browser{t: t, ctx: bctx, base: f.http.URL, dir: screenshotDir(t), f: f}

	// Not logged in: every page sends the browser to the login form.
	b.do(chromedp.Navigate(b.base+"/customers/acme"), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.shot("00-login")

	b.login("test-operator")
	b.do(chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.CSS("#tenants-total")))
	require.GreaterOrEqual(t, b.text("#tenants-total"), "3")
	require.Contains(t, b.text("#servers"), "pg-a")
	require.Contains(t, b.text("#audit-card"), "latest audit")
	require.Contains(t, b.text("#jobs"), "rollup")
	b.shot("01-overview")

	// Customers: search narrows the list.
	b.do(chromedp.Navigate(b.base+"/customers"), chromedp.WaitVisible(chromedp.CSS(`tr[data-slug="acme"]`)))
	b.shot("02-customers")
	b.do(chromedp.SendKeys(chromedp.CSS("#q"), "initech"))
	b.navigates(chromedp.Click(chromedp.CSS("#search")))
	b.do(chromedp.WaitNotPresent(chromedp.CSS(`tr[data-slug="acme"]`)))
	require.Equal(t, "1–1 of 1 customers", b.text("#count"))
	require.True(t, b.eval(`document.querySelectorAll("#customers tbody tr").length === 1`))
	b.shot("03-customers-search")

	// A customer: its counts are the warehouse's.
	b.navigates(chromedp.Click(chromedp.CSS(`tr[data-slug="initech"] a`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("#count-users")))
	require.Equal(t, fmt.Sprint(f.warehouseCount(t, "initech", "users", "")), b.text("#count-users"))
	require.Equal(t, fmt.Sprint(f.warehouseCount(t, "initech", "systems", "")), b.text("#count-systems"))
	require.Equal(t, fmt.Sprint(f.warehouseCount(t, "initech", "incidents", " AND status IN ('open', 'in_progress')")), b.text("#count-open"))
	require.Contains(t, b.text("#report"), "Open incidents by priority")
	b.shot("04-customer")

	// Grant and revoke MSP access through the forms.
	b.do(chromedp.SendKeys(chromedp.CSS("#grant-login"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#grant-expires"), "8h"),
		chromedp.SendKeys(chromedp.CSS("#grant-reason"), "INC-4711 data fix"))
	b.navigates(chromedp.Click(chromedp.CSS("#grant")))
	b.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-login="carol"]`)))
	require.Contains(t, b.text(".notice"), "access granted to carol")
	require.Contains(t, b.text(`tr[data-login="carol"]`), "test-operator")
	b.shot("05-customer-access-granted")
	b.navigates(chromedp.Click(chromedp.CSS("#revoke-carol")))
	b.do(chromedp.WaitNotPresent(chromedp.CSS(`tr[data-login="carol"]`)))
	require.Contains(t, b.text(".notice"), "access of carol revoked")
	require.Contains(t, b.text("#events"), "access.revoke")

	// A drift the audit finds shows on the audit page as a change since the last run.
	drift := f.drift(t, "globex")
	b.do(chromedp.Navigate(b.base+"/audit"), chromedp.WaitVisible(chromedp.CSS("#changes")))
	require.Contains(t, b.text("#changes"), "db.public_acl")
	require.Contains(t, b.text("#verdict"), "failed")
	b.shot("06-audit")
	drift()
	b.do(chromedp.Navigate(b.base+"/audit"), chromedp.WaitVisible(chromedp.CSS("#changes")))
	require.Contains(t, b.text("#changes"), "resolved")
	require.Contains(t, b.text("#verdict"), "passed")

	for _, p := range []struct{ path, sel, name string }{
		{"/jobs", "#jobs", "07-jobs"},
		{"/servers", "#servers", "08-servers"},
	} {
		b.do(chromedp.Navigate(b.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		b.shot(p.name)
	}

	// Log out; log in as a viewer: no forms, and a forged one is refused.
	b.navigates(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
	b.login("test-viewer")
	b.do(chromedp.Navigate(b.base+"/customers/initech"), chromedp.WaitVisible(chromedp.CSS("#count-users")))
	require.True(t, b.eval(`document.querySelector("#grant-form") === null && document.querySelector("#suspend") === null`))
	b.navigates(chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "/customers/initech/access";
		for (const [k, v] of [["csrf", document.querySelector("input[name=csrf]").value], ["login", "mallory"]]) {
			const i = document.createElement("input"); i.name = k; i.value = v; f.appendChild(i);
		}
		document.body.appendChild(f); f.submit();
	})()`))
	b.do(chromedp.WaitVisible(chromedp.CSS(".error")))
	require.Contains(t, b.text(".error"), "has role viewer; this needs operator")
	b.shot("09-viewer-refused")
	grants, err := f.store.ListAccessGrants(ctx, "initech", "mallory")
	require.NoError(t, err)
	require.Empty(t, grants)
}
