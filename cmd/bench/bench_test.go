package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBenchSmoke runs the program end to end at the smallest size: it builds tenantctl
// and goose, starts its own clusters with `tenantctl dev up`, runs the catalog-reads
// section against its raw baseline and writes both reports. It proves the benchmark
// still runs, not how fast anything is.
func TestBenchSmoke(t *testing.T) {
	t.Setenv("BENCH_SECTIONS", "catalog reads")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out := t.TempDir()
	sz := sizes{Tenants: 1, Creates: 1, Rows: 100, CatalogRows: 50, Rounds: 1}
	require.NoError(t, run(ctx, sz, out))

	mds, err := filepath.Glob(filepath.Join(out, "*.md"))
	require.NoError(t, err)
	require.Len(t, mds, 1, "one markdown report")
	jsons, err := filepath.Glob(filepath.Join(out, "*.json"))
	require.NoError(t, err)
	require.Len(t, jsons, 1, "one JSON report")
	b, err := os.ReadFile(jsons[0])
	require.NoError(t, err)
	var rep report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Empty(t, rep.Errors)
	require.Equal(t, sz, rep.Sizes)
	md, err := os.ReadFile(mds[0])
	require.NoError(t, err)
	require.Contains(t, string(md), "catalog")
}
