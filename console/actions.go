package console

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/provisioner"
	"github.com/tenantctl/tenantctl/secret"
)

// done redirects back to the customer page with a notice or the error (POST, then
// redirect, then GET: a reload never repeats the action).
func (c *Console) done(w http.ResponseWriter, r *http.Request, slug, notice string, err error) {
	to := "/customers/" + url.PathEscape(slug)
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			c.o.Log.Error("console action failed", "path", r.URL.Path, "error", secret.Scrub(err.Error()))
		}
		c.flash(w, "error", msg)
	} else {
		c.flash(w, "notice", notice)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// flash leaves a message for the next page in a short-lived cookie. Not in the URL: a
// link anyone can craft must not be able to put words on a console page.
func (c *Console) flash(w http.ResponseWriter, kind, msg string) {
	if len(msg) > 1000 {
		msg = msg[:1000] + "…"
	}
	http.SetCookie(w, c.cookie(flashCookie, kind+":"+base64.RawURLEncoding.EncodeToString([]byte(secret.Scrub(msg))), 60))
}

// takeFlash reads and clears the flash message.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) (kind, msg string) {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	http.SetCookie(w, c.cookie(flashCookie, "", -1))
	kind, enc, _ := strings.Cut(ck.Value, ":")
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", ""
	}
	return kind, string(raw)
}

func (c *Console) delete(w http.ResponseWriter, r *http.Request, s *session) error {
	slug := r.PathValue("slug")
	// The same confirmation the CLI asks for: type the slug again.
	err := c.prov.Delete(r.Context(), provisioner.DeleteOptions{Slug: slug, Confirm: r.PostFormValue("confirm")})
	if err != nil {
		c.done(w, r, slug, "", err)
		return nil
	}
	c.flash(w, "notice", slug+" deleted: access revoked; its data is purged after the retention period")
	http.Redirect(w, r, "/customers", http.StatusSeeOther)
	return nil
}

func (c *Console) grant(w http.ResponseWriter, r *http.Request, s *session) error {
	slug := r.PathValue("slug")
	g, err := c.grantAccess(r, slug)
	c.done(w, r, slug, "access granted to "+g.Login+" ("+g.Level+"); they connect with: tenantctl access dsn "+g.Login+" --tenant "+slug, err)
	return nil
}

// grantAccess grants a login access to slug's database as a posted grant form (the
// customer page's or the technicians page's) asks.
func (c *Console) grantAccess(r *http.Request, slug string) (catalog.AccessGrant, error) {
	return c.prov.GrantAccess(r.Context(), provisioner.GrantOptions{
		Login: r.PostFormValue("login"), Slug: slug, Level: r.PostFormValue("level"),
		Expires: r.PostFormValue("expires"), Reason: r.PostFormValue("reason"),
	})
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request, s *session) error {
	slug, login := r.PathValue("slug"), r.PathValue("login")
	c.done(w, r, slug, "access of "+login+" revoked", c.prov.RevokeAccess(r.Context(), login, slug))
	return nil
}
