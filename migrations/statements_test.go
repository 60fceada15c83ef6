package migrations_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/internal/pgtest"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/migrations"
)

// pg_dump's search_path reset no longer hides goose's table, and a failing statement is
// named by file, line and first line, with what to do for the usual causes.
func TestMigrationErrorsNameTheStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := pgtest.Get(t)
	db := env.Control.NewDatabase(t, "stmterr")
	cfg, err := pgx.ParseConfig(env.Control.SuperDSN(db))
	require.NoError(t, err)
	opts := migrations.Options{TableName: migrations.TenantTable}
	dump := "-- +goose Up\n" +
		"SET statement_timeout = 0;\n" +
		"SELECT pg_catalog.set_config('search_path', '', false);\n" +
		"CREATE TABLE public.a (id integer);\n"
	set := fstest.MapFS{"00001_dump.sql": {Data: []byte(dump)}}
	v, err := migrations.Up(ctx, cfg, set, opts)
	require.NoError(t, err, "goose's table is schema-qualified: an empty search_path cannot hide it")
	require.Equal(t, int64(1), v)

	set["00002_function.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\n" +
		"CREATE TABLE public.b (id integer);\n\n" +
		"-- a function from pg_dump, without StatementBegin/End\n" +
		"CREATE FUNCTION public.f() RETURNS integer\n" +
		"    LANGUAGE plpgsql\n" +
		"    AS $$\n" +
		"BEGIN\n" +
		"    RETURN 1;\n" +
		"END;\n" +
		"$$;\n")}
	_, err = migrations.Up(ctx, cfg, set, opts)
	require.Error(t, err)
	var se *migrations.StatementError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "00002_function.sql", se.File)
	require.Equal(t, 5, se.Line, err.Error())
	require.Equal(t, "CREATE FUNCTION public.f() RETURNS integer", se.Statement)
	require.Contains(t, err.Error(), `migration 00002_function.sql failed at line 5 (statement "CREATE FUNCTION public.f() RETURNS integer"`)
	require.Contains(t, err.Error(), "unterminated dollar-quoted string")
	require.Contains(t, err.Error(), "-- +goose StatementBegin")

	set["00002_function.sql"] = &fstest.MapFile{Data: []byte("-- +goose Up\n" +
		"CREATE TABLE public.b (id integer);\n" +
		"CREATE TABLE public.c (id integer,\n" +
		"    name texxt);\n")}
	_, err = migrations.Up(ctx, cfg, set, opts)
	require.ErrorAs(t, err, &se)
	require.Equal(t, 3, se.Line)
	require.Positive(t, se.Position)
	require.Equal(t, 4, se.ErrorLine)
	require.Contains(t, err.Error(), `failed at line 3 (statement "CREATE TABLE public.c (id integer,", error on line 4)`)
	require.Contains(t, err.Error(), `type "texxt" does not exist`)
}

// Statements that change ownership or privileges are refused before anything runs, each
// named by file and line.
func TestOwnershipStatementsAreRefused(t *testing.T) {
	t.Parallel()
	set := fstest.MapFS{
		"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE public.a (id integer);\nALTER TABLE public.a OWNER TO postgres;\n" +
			"-- GRANT in a comment is fine\nGRANT SELECT ON TABLE public.a TO reporting;\n")},
		"00002_b.sql": {Data: []byte("-- +goose Up\nrevoke all on schema public from public;\nALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x;\n" +
			"CREATE TABLE public.b (granted boolean, owner_to text);\n")},
	}
	err := migrations.CheckOwnership(set)
	require.ErrorIs(t, err, migrations.ErrOwnership)
	var oe *migrations.OwnershipError
	require.ErrorAs(t, err, &oe)
	require.Equal(t, []migrations.Refused{
		{File: "00001_a.sql", Line: 3, Statement: "ALTER TABLE public.a OWNER TO postgres;"},
		{File: "00001_a.sql", Line: 5, Statement: "GRANT SELECT ON TABLE public.a TO reporting;"},
		{File: "00002_b.sql", Line: 2, Statement: "revoke all on schema public from public;"},
		{File: "00002_b.sql", Line: 3, Statement: "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x;"},
	}, oe.Statements)
	require.Contains(t, err.Error(), "remove these statements")

	dir := t.TempDir()
	for name, f := range set {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.Data, 0o600))
	}
	_, err = migrations.Dir(dir)
	require.ErrorIs(t, err, validate.ErrInvalid)
	require.True(t, errors.Is(err, migrations.ErrOwnership))
	require.NoError(t, migrations.CheckOwnership(fstest.MapFS{"00001_a.sql": {Data: []byte("-- +goose Up\nCREATE TABLE granted (owner_to text);\n")}}))
}
