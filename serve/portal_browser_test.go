package serve_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
)

// newBrowser starts a headless chromium showing width×height (mobile emulation for a
// phone-sized one).
func newBrowser(t *testing.T, f *fleet, width, height int64) *browser {
	t.Helper()
	exe := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(int(width), int(height)))
	t.Cleanup(cancelAlloc)
	bctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if width < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(width, height, opts...)))
	return &browser{t: t, ctx: bctx, base: f.http.URL, dir: screenshotDir(t), f: f}
}

// view saves what the screen shows (not the whole page): what an operator sees at
// this size. The page's HTML is checked for secrets first.
func (b *browser) view(name string) {
	b.t.Helper()
	html, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(b.t, err)
	b.f.noSecret(b.t, "page "+name, html)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644))
}

// fits checks the page does not scroll sideways: nothing wider than the screen.
func (b *browser) fits(where string) {
	b.t.Helper()
	w, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	require.NoError(b.t, err)
	require.LessOrEqual(b.t, w, 0, "%s overflows the screen sideways by %d px", where, w)
}

func (b *browser) open(path, sel string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// TestConsolePortalInABrowser drives the portal's pages and actions at a desktop size
// (1400×900) and a phone's (390×844): the jump box, sorting by figures, page numbers and
// an out-of-range page, add customer, the confirmation step of disruptive actions,
// migrate, roll up, rotate, suspend and resume, delete with its purge date, cancel
// delete, delete again and purge,
// drain and undrain, the technicians page and a grant from it, styled 404 and 400
// pages, the report's and the fleet's SVG charts, the customer's users outside its
// domain, and PostgreSQL versions as 15.x. No
// page scrolls sideways at either size. Screenshots: console-<page>-<size>.png.
func TestConsolePortalInABrowser(t *testing.T) {
	f := sharedFleet(t)
	for _, size := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1400, 900}, {"phone", 390, 844}} {
		b := newBrowser(t, f, size.width, size.height)
		shot := func(page string) {
			b.fits(page + " at " + size.name)
			b.view("console-" + page + "-" + size.name)
		}
		b.login("test-operator")

		// Overview: the fleet's growth as an SVG chart, job counts as figures.
		b.open("/", "#growth svg")
		require.True(t, b.eval(`document.querySelectorAll("#growth svg rect").length > 10`))
		require.True(t, b.eval(`document.querySelectorAll("script").length === 0`))
		shot("overview")

		// Customers: sort by open incidents, largest first, with page numbers.
		b.open("/customers?size=10", "#customers")
		b.navigates(chromedp.Click(chromedp.CSS("#sort-open")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#customers")))
		require.Contains(t, b.text("#sort-open"), "↓")
		require.True(t, b.eval(`(() => {
			const v = [...document.querySelectorAll("#customers td.open")].map(td => td.textContent === "—" ? -1 : +td.textContent.replace(/,/g, ""));
			return v.length >= 3 && v.every((x, i) => i === 0 || v[i-1] >= x);
		})()`), "sorted by open incidents, descending")
		require.True(t, b.eval(`getComputedStyle(document.querySelector("#customers td.users")).textAlign === "right"`))
		require.True(t, b.eval(`getComputedStyle(document.querySelector("#customers td.nowrap")).whiteSpace === "nowrap"`))
		shot("customers")
		// A page past the end shows the last page and says so.
		b.open("/customers?size=10&page=99", "#past")
		require.Contains(t, b.text("#past"), "no page 99")
		require.NotContains(t, b.text("#count"), "0–0")
		require.True(t, b.eval(`document.querySelector(".pager .current") !== null`))

		// The jump box: keyboard only, a name opens the customer.
		b.open("/servers", "#jump")
		b.do(chromedp.Focus(chromedp.CSS("#jump")))
		b.navigates(chromedp.SendKeys(chromedp.CSS("#jump"), "Globex Corporation\r"))
		b.do(chromedp.WaitVisible(chromedp.CSS("#count-users")))
		loc, err := chromedp.Run(b.ctx, chromedp.Location())
		require.NoError(t, err)
		require.True(t, strings.HasSuffix(loc, "/customers/globex"), loc)
		// The report: human headers, numbers right-aligned, the weekly series as a chart.
		require.True(t, b.eval(`document.querySelector("#report-incidents_per_week svg.chart") !== null`))
		require.NotContains(t, b.text("#report-open_by_priority"), "open_incidents")
		require.Contains(t, b.text("#report-open_by_priority"), "Open incidents")
		// The operator may suspend (behind a confirmation, not a primary button), migrate
		// and roll up, not delete or rotate.
		require.True(t, b.eval(`document.querySelector("a#suspend.secondary") !== null && document.querySelector("#migrate") !== null && document.querySelector("#rollup") !== null`))
		require.True(t, b.eval(`document.querySelector("#delete") === null && document.querySelector("#rotate") === null`))
		shot("customer")

		// The customer's users against its domain, from the warehouse: initech has one
		// user invited before the demo schema held users to the domain.
		b.open("/customers/initech", "#domain-check")
		require.Contains(t, b.text("#outside-domain"), outsideUser)
		require.Contains(t, b.text("#domain-check"), "1 outside the domain")
		b.do(chromedp.ScrollIntoView(chromedp.CSS("#domain-check")))
		shot("customer-domain")
		b.open("/customers/acme", "#domain-check")
		require.Contains(t, b.text("#domain-check"), "all users in the domain")

		// Styled errors: an unknown page, bad input.
		b.open("/no/such/page", ".errorpage")
		require.Contains(t, b.text("h1"), "Not found")
		require.Contains(t, b.text("#whoami"), "test-operator")
		shot("404")
		b.open("/customers?q=%00", ".errorpage")
		require.Contains(t, b.text(".error"), "control characters")
		b.open("/customers?page=abc", ".errorpage")
		require.Contains(t, b.text("h1"), "Bad Request")

		// Add a customer on the server of one's choice.
		slug := "portal-" + size.name
		b.open("/customers", "#add-customer")
		b.navigates(chromedp.Click(chromedp.CSS("#add-customer")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#new-name")))
		shot("add-customer")
		// A domain already taken: the form comes back filled in with the reason.
		b.do(chromedp.SendKeys(chromedp.CSS("#new-name"), "Portal "+size.name),
			chromedp.SendKeys(chromedp.CSS("#new-slug"), slug),
			chromedp.SendKeys(chromedp.CSS("#new-domain"), "acme.example"),
			chromedp.SendKeys(chromedp.CSS("#new-labels"), "zone=eu-b"))
		b.navigates(chromedp.Click(chromedp.CSS("#create")))
		b.do(chromedp.WaitVisible(chromedp.CSS(".error")))
		require.Contains(t, b.text(".error"), "already used")
		require.True(t, b.eval(`document.querySelector("#new-slug").value === "`+slug+`"`))
		b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#new-domain").value = "`+slug+`.example"`),
			chromedp.SendKeys(chromedp.CSS("#new-contact"), "it@"+slug+".example"),
			chromedp.SetValue(chromedp.CSS("#new-server"), "pg-b"))
		b.navigates(chromedp.Click(chromedp.CSS("#create")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#count-users")))
		require.Contains(t, b.text(".notice"), slug+" created on pg-b")
		tn, err := f.store.GetTenant(context.Background(), slug)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"zone": "eu-b"}, tn.Labels)

		// Migrate and roll up: one click each.
		b.navigates(chromedp.Click(chromedp.CSS("#migrate")))
		b.do(chromedp.WaitVisible(chromedp.CSS(".notice")))
		require.Contains(t, b.text(".notice"), "migrated")
		b.navigates(chromedp.Click(chromedp.CSS("#rollup")))
		b.do(chromedp.WaitVisible(chromedp.CSS(".notice")))
		require.Contains(t, b.text(".notice"), "rolled up")

		// Suspend asks first; Cancel changes nothing, the confirm button suspends.
		b.navigates(chromedp.Click(chromedp.CSS("#suspend")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#confirm-yes")))
		shot("confirm-suspend")
		b.navigates(chromedp.Click(chromedp.CSS("#confirm-no")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#state")))
		require.Equal(t, "active", b.text("#state"))
		b.navigates(chromedp.Click(chromedp.CSS("#suspend")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#confirm-yes")))
		b.navigates(chromedp.Click(chromedp.CSS("#confirm-yes")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#resume")))
		require.Equal(t, "suspended", b.text("#state"))
		b.navigates(chromedp.Click(chromedp.CSS("#resume")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#suspend")))
		require.Equal(t, "active", b.text("#state"))

		// Technicians: operators with role and last seen, every live grant; grant here.
		b.open("/technicians", "#technicians")
		require.Contains(t, b.text(`tr[data-login="test-admin"]`), "admin")
		b.do(chromedp.SendKeys(chromedp.CSS("#tg-login"), "dave"),
			chromedp.SetValue(chromedp.CSS("#tg-slug"), slug),
			chromedp.SendKeys(chromedp.CSS("#tg-expires"), "2h"),
			chromedp.SendKeys(chromedp.CSS("#tg-reason"), "INC-1 onboarding"))
		b.navigates(chromedp.Click(chromedp.CSS("#tg-grant")))
		b.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-login="dave"]`)))
		require.Contains(t, b.text(".notice"), "granted to dave")
		require.Contains(t, b.text(`tr[data-login="dave"]`), slug)
		shot("technicians")

		// As an admin: rotate, delete (purge date shown, no delete or grant form), purge.
		b.navigates(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
		b.do(chromedp.WaitVisible(chromedp.CSS("#token")))
		b.login("test-admin")
		b.open("/customers/"+slug, "#rotate")
		b.navigates(chromedp.Click(chromedp.CSS("#rotate")))
		b.do(chromedp.WaitVisible(chromedp.CSS(".notice")))
		require.Contains(t, b.text(".notice"), "credentials rotated")
		b.do(chromedp.SendKeys(chromedp.CSS("#confirm"), slug))
		b.navigates(chromedp.Click(chromedp.CSS("#delete")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#customers")))
		b.open("/customers/"+slug, "#deleting")
		require.Contains(t, b.text("#deleting"), "purged on or after")
		deleted, err := f.store.GetTenant(context.Background(), slug)
		require.NoError(t, err)
		require.Equal(t, deleted.DeletedAt.Add(7*24*time.Hour).UTC().Format("2006-01-02 15:04 UTC"), b.text("#purge-at"))
		require.True(t, b.eval(`document.querySelector("#delete") === null && document.querySelector("#grant-form") === null && document.querySelector("#suspend") === null`))
		require.True(t, b.eval(`document.querySelector("#cancel-delete") !== null`))
		shot("customer-deleting")
		// Cancel the delete: the customer is suspended again, its data as it was; then
		// delete it again.
		b.navigates(chromedp.Click(chromedp.CSS("#cancel-delete")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#resume")))
		require.Equal(t, "suspended", b.text("#state"))
		require.Contains(t, b.text(".notice"), "delete cancelled")
		undeleted, err := f.store.GetTenant(context.Background(), slug)
		require.NoError(t, err)
		require.Equal(t, catalog.StateSuspended, undeleted.State)
		require.Nil(t, undeleted.DeletedAt)
		b.do(chromedp.SendKeys(chromedp.CSS("#confirm"), slug))
		b.navigates(chromedp.Click(chromedp.CSS("#delete")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#customers")))
		b.open("/customers/"+slug, "#purge")
		b.navigates(chromedp.Click(chromedp.CSS("#purge")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#confirm-yes")))
		b.navigates(chromedp.Click(chromedp.CSS("#confirm-yes")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#customers")))
		require.Contains(t, b.text(".notice"), slug+" purged")
		purged, err := f.store.ListTenants(context.Background(), catalog.TenantFilter{States: []string{catalog.StatePurged}})
		require.NoError(t, err)
		require.True(t, slices.ContainsFunc(purged, func(x catalog.Tenant) bool { return x.Slug == slug }))

		// Servers: PostgreSQL as 15.x; drain asks first, undrain does not.
		b.open("/servers", "#servers")
		require.Regexp(t, `^1[0-9]\.[0-9]+$`, b.text(`tr[data-server="pg-b"] .pgversion`))
		b.navigates(chromedp.Click(chromedp.CSS("#drain-pg-b")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#confirm-yes")))
		b.navigates(chromedp.Click(chromedp.CSS("#confirm-yes")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#undrain-pg-b")))
		srv, err := f.store.GetServer(context.Background(), "pg-b")
		require.NoError(t, err)
		require.True(t, srv.Draining)
		shot("servers")
		b.navigates(chromedp.Click(chromedp.CSS("#undrain-pg-b")))
		b.do(chromedp.WaitVisible(chromedp.CSS("#drain-pg-b")))
		srv, err = f.store.GetServer(context.Background(), "pg-b")
		require.NoError(t, err)
		require.False(t, srv.Draining)

		// Every other page fits the screen too.
		for _, p := range []struct{ path, sel string }{{"/jobs", "#jobs"}, {"/audit", "h1"}, {"/customers/acme", "#report"}} {
			b.open(p.path, p.sel)
			b.fits(p.path + " at " + size.name)
		}
		b.open("/jobs", "#jobs")
		shot("jobs")
	}
}
