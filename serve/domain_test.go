package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/dbconn"
)

// TestCustomerDomainEndToEnd follows the customer's email domain from the catalog into
// the customer's database and back out through the warehouse: the demo schema refuses a
// user outside the domain (through the tenant's own credentials), a user written before
// the demo schema held users to it is reported from the warehouse by the API, the
// report and the console's customer page, and the domain cannot be changed.
func TestCustomerDomainEndToEnd(t *testing.T) {
	f := sharedFleet(t)
	ctx := context.Background()
	dsn, err := f.prov.AppDSN(ctx, "acme")
	require.NoError(t, err)
	conn, err := dbconn.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	// The database carries the domain; the application reads it.
	var domain string
	require.NoError(t, conn.QueryRow(ctx, "SELECT tenantctl_domain()").Scan(&domain))
	require.Equal(t, "acme.example", domain)

	// In the domain (any case): accepted. Outside it: refused by the demo schema.
	insert := func(email string) error {
		_, err := conn.Exec(ctx, "INSERT INTO users (email, full_name) VALUES ($1, 'Test User')", email)
		return err
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DELETE FROM users WHERE full_name = 'Test User'")
	})
	require.NoError(t, insert("new.hire@acme.example"))
	require.NoError(t, insert("Second.Hire@ACME.example"))
	for _, email := range []string{"contractor@gmail.example", "x@acme.example.evil.example", "x@sub.acme.example", "x@globex.example"} {
		err := insert(email)
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%s: %v", email, err)
		require.Equal(t, "23514", pgErr.Code, email)
		require.Contains(t, pgErr.Message, "outside the customer's email domain acme.example", email)
	}
	_, err = conn.Exec(ctx, "UPDATE users SET email = 'moved@globex.example' WHERE email = 'new.hire@acme.example'")
	require.ErrorContains(t, err, "outside the customer's email domain", "an update out of the domain is refused too")
	// The application cannot change what the database carries: a session setting changes
	// nothing, and the functions are not its own.
	_, err = conn.Exec(ctx, "SET tenantctl.domain = 'gmail.example'")
	require.NoError(t, err)
	require.Error(t, insert("contractor@gmail.example"))
	_, err = conn.Exec(ctx, "RESET tenantctl.domain")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE OR REPLACE FUNCTION public.tenantctl_email_in_domain(email text) RETURNS boolean LANGUAGE sql AS 'SELECT true'")
	var denied *pgconn.PgError
	require.True(t, errors.As(err, &denied), "%v", err)
	require.Equal(t, "42501", denied.Code, "insufficient privilege: %v", err)

	// A neighbour on the same server reads no other customer's domain in the shared
	// catalogs (settings, comments).
	for _, q := range []string{
		"SELECT coalesce(string_agg(array_to_string(setconfig, ','), ','), '') FROM pg_db_role_setting",
		"SELECT coalesce(string_agg(shobj_description(oid, 'pg_database'), ','), '') FROM pg_database",
	} {
		var s string
		require.NoError(t, conn.QueryRow(ctx, q).Scan(&s))
		require.NotContains(t, s, ".example", q)
	}

	// The warehouse's compliance check: initech's user from before the demo schema.
	resp, raw := f.call(t, "viewer", "GET", "/api/v1/tenants/initech", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var detail struct {
		Outside []struct{ Email, FullName, Role string } `json:"users_outside_domain"`
	}
	require.NoError(t, json.Unmarshal(raw, &detail))
	require.Len(t, detail.Outside, 1, string(raw))
	require.Equal(t, outsideUser, detail.Outside[0].Email)
	for _, slug := range []string{"acme", "globex"} {
		_, raw := f.call(t, "viewer", "GET", "/api/v1/tenants/"+slug, nil)
		require.Contains(t, string(raw), `"users_outside_domain": []`, slug)
	}
	_, raw = f.call(t, "viewer", "GET", "/api/v1/tenants/initech/report?format=md", nil)
	require.Contains(t, string(raw), outsideUser, "the report's compliance section")

	c := newConsoleClient(t, f, f.http.URL, nil)
	require.Equal(t, http.StatusSeeOther, c.login("test-viewer", f.tokens["viewer"]).StatusCode)
	r, page := c.do("GET", "/customers/initech", nil)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, page, `id="outside-domain"`)
	require.Contains(t, page, outsideUser)
	require.Contains(t, page, "1 outside the domain")
	_, page = c.do("GET", "/customers/acme", nil)
	require.NotContains(t, page, `id="outside-domain"`)
	require.Contains(t, page, "all users in the domain")

	// The domain stays immutable: no API route changes it, and the catalog refuses it.
	resp, raw = f.call(t, "admin", "PATCH", "/api/v1/tenants/acme", map[string]string{"domain": "acme2.example"})
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, string(raw))
	_, err = f.store.Pool().Exec(ctx, "UPDATE tenants SET domain = 'acme2.example' WHERE slug = 'acme'")
	require.ErrorContains(t, err, "immutable")
	tn, err := f.store.GetTenant(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "acme.example", tn.Domain)
}
