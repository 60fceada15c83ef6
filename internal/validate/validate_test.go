package validate

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSlug(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"acme", "acme-corp", "a1b", strings.Repeat("a", 40)} {
		require.NoError(t, Slug(ok), ok)
	}
	for _, bad := range []string{"", "ab", "Acme", "1acme", "acme-", "ac me", "acme_corp", "acme'; drop", strings.Repeat("a", 41)} {
		err := Slug(bad)
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
}

func TestDomain(t *testing.T) {
	t.Parallel()
	got, err := Domain("Acme.Example.COM.")
	require.NoError(t, err)
	require.Equal(t, "acme.example.com", got)
	for _, bad := range []string{"", "localhost", "a..com", "-a.com", "a-.com", "a b.com", "a'b.com", `a"b.com`,
		strings.Repeat("a", 64) + ".com", "example.123", "ex_ample.com", strings.Repeat("abcdefghi.", 26) + "com"} {
		_, err := Domain(bad)
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
}

func TestContactEmail(t *testing.T) {
	t.Parallel()
	got, err := ContactEmail("Ops@ACME.com", "acme.com")
	require.NoError(t, err)
	require.Equal(t, "Ops@acme.com", got)
	_, err = ContactEmail("ops@it.acme.com", "acme.com")
	require.NoError(t, err, "subdomains are under the domain")
	for _, bad := range []string{"ops@evil.com", "ops@notacme.com", "opsacme.com", "@acme.com", "a b@acme.com", "a..b@acme.com"} {
		_, err := ContactEmail(bad, "acme.com")
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
}

func TestDisplayName(t *testing.T) {
	t.Parallel()
	require.NoError(t, DisplayName("Acme Corp. (EMEA) — Ünïcode"))
	require.ErrorIs(t, DisplayName(""), ErrInvalid)
	require.ErrorIs(t, DisplayName("   "), ErrInvalid)
	require.ErrorIs(t, DisplayName(strings.Repeat("x", 201)), ErrInvalid)
	require.NoError(t, DisplayName(strings.Repeat("é", 200)))
	require.ErrorIs(t, DisplayName("bad\x00name"), ErrInvalid)
}

func TestLabels(t *testing.T) {
	t.Parallel()
	got, err := Labels([]string{"zone=eu1", "tier=gold"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"zone": "eu1", "tier": "gold"}, got)
	require.Equal(t, "tier=gold,zone=eu1", FormatLabels(got))
	for _, bad := range []string{"zone", "=x", "Zone=x", "zone=a b", "zone=x'y", "zone=x;drop"} {
		_, err := Labels([]string{bad})
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
	_, err = Labels([]string{"a=1", "a=2"})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestServerNameAndIdentifier(t *testing.T) {
	t.Parallel()
	require.NoError(t, ServerName("pg-a"))
	require.NoError(t, ServerName("p"))
	require.ErrorIs(t, ServerName("PG"), ErrInvalid)
	require.ErrorIs(t, ServerName("pg a"), ErrInvalid)
	require.NoError(t, Identifier("incidents"))
	require.ErrorIs(t, Identifier(`x"; drop table y; --`), ErrInvalid)
}

func TestInvalidWrapping(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	err := Invalid(base)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorIs(t, err, base)
	require.Equal(t, "boom", err.Error())
	require.ErrorIs(t, fmt.Errorf("ctx: %w", Errorf("x")), ErrInvalid)
	require.Nil(t, Invalid(nil))
}

func TestFieldAndMissingErrorsAreInvalidInputAndRenderTheOptionName(t *testing.T) {
	t.Parallel()
	err := error(fmt.Errorf("migrate: %w", Field("per-server", -1, "it must be at least %d", 1)))
	require.ErrorIs(t, err, ErrInvalid)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "per-server", fe.Field)
	require.Equal(t, "migrate: invalid per-server -1: it must be at least 1", err.Error())
	require.Equal(t, "invalid --per-server -1: it must be at least 1", fe.Render("--per-server"))
	require.Equal(t, "--to must name a lower version", (&FieldError{Field: "to", Reason: "must name a lower version"}).Render("--to"))

	var missing error = &MissingError{Field: "dsn", What: "the warehouse's connection string"}
	require.ErrorIs(t, missing, ErrInvalid)
	require.Equal(t, "dsn is required: the warehouse's connection string", missing.Error())
}
