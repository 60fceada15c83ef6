package cmdutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/validate"
)

func TestReadDSNFromFlagFileOrStdin(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "dsn")
	require.NoError(t, os.WriteFile(file, []byte("  postgres://a@h/db\n"), 0o600))
	f := NewTest()
	f.IO.In = strings.NewReader("postgres://b@h/db\n")

	got, err := f.ReadDSN("postgres://c@h/db", "")
	require.NoError(t, err)
	require.Equal(t, "postgres://c@h/db", got, "a DSN on the command line is taken as it is")
	got, err = f.ReadDSN("", file)
	require.NoError(t, err)
	require.Equal(t, "postgres://a@h/db", got)
	got, err = f.ReadDSN("-", "")
	require.NoError(t, err)
	require.Equal(t, "postgres://b@h/db", got)
	_, err = f.ReadDSN("x", file)
	require.ErrorIs(t, err, validate.ErrInvalid)
	_, err = f.ReadDSN("", filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, validate.ErrInvalid)
}

func TestReadDSNSource(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "dsn")
	require.NoError(t, os.WriteFile(file, []byte("postgres://a@h/db\n"), 0o600))

	got, err := ReadDSNSource(strings.NewReader(""), "", false)
	require.NoError(t, err)
	require.Empty(t, got, "neither given")
	got, err = ReadDSNSource(strings.NewReader(""), file, false)
	require.NoError(t, err)
	require.Equal(t, "postgres://a@h/db", got)
	got, err = ReadDSNSource(strings.NewReader(" postgres://b@h/db "), "", true)
	require.NoError(t, err)
	require.Equal(t, "postgres://b@h/db", got)
	_, err = ReadDSNSource(strings.NewReader("x"), file, true)
	require.ErrorIs(t, err, validate.ErrInvalid)
	_, err = ReadDSNSource(strings.NewReader("  \n"), "", true)
	require.ErrorIs(t, err, validate.ErrInvalid, "an empty DSN is refused")
}

func TestIfGivenAndLimitFlag(t *testing.T) {
	t.Parallel()
	bad := errors.New("bad")
	check := func(string) error { return bad }
	require.NoError(t, IfGiven(check, ""))
	require.ErrorIs(t, IfGiven(check, "x"), bad)

	var limit int
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	LimitFlag(fl, &limit, 20, "runs")
	require.Equal(t, 20, limit)
	require.Equal(t, "most runs to show, newest first", fl.Lookup("limit").Usage)
}
