package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/catalog"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/provisioner"
)

func TestProblemStatuses(t *testing.T) {
	t.Parallel()
	// Not-found and taken are invalid input to the CLI (exit 2), but 404 and 409 here.
	require.Equal(t, 404, toProblem(validate.Invalid(fmt.Errorf("tenant %q: %w", "x", catalog.ErrTenantNotFound))).Status)
	require.Equal(t, 409, toProblem(validate.Invalid(fmt.Errorf("slug taken: %w", catalog.ErrTenantExists))).Status)
	require.Equal(t, 409, toProblem(provisioner.ErrBusy).Status)
	require.Equal(t, 409, toProblem(validate.Invalid(fmt.Errorf("x: %w", provisioner.ErrWrongState))).Status)
	require.Equal(t, 400, toProblem(validate.Errorf("invalid slug")).Status)
	require.Equal(t, 500, toProblem(fmt.Errorf("boom")).Status)
}

func TestValidationNamesTheField(t *testing.T) {
	t.Parallel()
	for field, req := range map[string]CreateTenantRequest{
		"slug":          {Slug: "X", Name: "n", Domain: "d.example"},
		"name":          {Slug: "abc", Name: "", Domain: "d.example"},
		"domain":        {Slug: "abc", Name: "n", Domain: "nodots"},
		"contact_email": {Slug: "abc", Name: "n", Domain: "d.example", ContactEmail: "x@other.example"},
		"server":        {Slug: "abc", Name: "n", Domain: "d.example", Server: "BAD"},
		"labels":        {Slug: "abc", Name: "n", Domain: "d.example", Labels: map[string]string{"": "v"}},
	} {
		err := validateCreate(req)
		var p *Problem
		require.ErrorAs(t, err, &p, field)
		require.Equal(t, field, p.Field)
		require.Equal(t, 400, p.Status)
	}
	require.NoError(t, validateCreate(CreateTenantRequest{Slug: "abc", Name: "n", Domain: "d.example", ContactEmail: "it@d.example"}))

	for field, req := range map[string]GrantRequest{
		"login":   {Login: "Bad Login"},
		"level":   {Login: "alice", Level: "root"},
		"reason":  {Login: "alice", Reason: strings.Repeat("x", 501)},
		"expires": {Login: "alice", Expires: "-1h"},
	} {
		var p *Problem
		require.ErrorAs(t, ValidateGrant("acme", req), &p, field)
		require.Equal(t, field, p.Field)
	}
	require.NoError(t, ValidateGrant("acme", GrantRequest{Login: "alice", Level: "write", Expires: "never"}))

	r, _ := http.NewRequest("POST", "/x", strings.NewReader(`{"slug": "a", "extra": true}`))
	var req CreateTenantRequest
	var p *Problem
	require.ErrorAs(t, decodeJSON(r, &req), &p)
	require.Equal(t, "extra", p.Field)
}
