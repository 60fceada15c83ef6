// Package console owns the operator console of `tenantctl serve`: server-rendered
// HTML pages (html/template, no JavaScript needed) over package fleetview for reading
// and package provisioner for every action, so a button does exactly what the CLI
// command does. It owns console logins and sessions (cookie HttpOnly, SameSite=Strict,
// Secure under TLS), CSRF protection of every form, the rate limit on failed logins,
// and the security headers of every page.
//
// It never puts a secret in a page: no DSN, password or token is ever rendered, and
// database and role names are shown as they are (opaque).
package console
