package faulttest

import (
	"path/filepath"
)

// restoreExportCases kill an in-place restore from an export (tenant restore SLUG
// --from-export FILE) at every point of the in-place restore: no scratch instance or
// pgBackRest is involved, so they run on a plain fleet. The tenant's rows do not change
// after its export: restored or rolled back, it holds the same rows, and no restore is
// left open.
func restoreExportCases() []killCase {
	return []killCase{
		{
			name: "tenant restore --from-export", group: "restore-export", shared: true,
			points: restorePoints,
			setup:  func(f *fleet, slug string) []string { return f.restoreFromExportArgs(slug) },
			rerun:  rerunSame,
			check:  func(f *fleet, slug string) { f.assertRestoreSettled(slug) },
		},
	}
}

// restoreFromExportArgs makes the case's tenant on first use (its rows written, then a
// 'tenant export' of it), remembers every tenant's rows, and returns an in-place
// restore of the tenant from that export that drops the replaced database at once.
func (f *fleet) restoreFromExportArgs(slug string) []string {
	f.t.Helper()
	if f.restoreFrom == nil {
		f.restoreFrom = map[string]string{}
	}
	file, ok := f.restoreFrom[slug]
	if !ok {
		f.createTenant(slug)
		f.fill(slug, 5)
		file = filepath.Join(f.t.TempDir(), slug+".dump")
		f.must("tenant", "export", slug, "--out", file)
		f.restoreFrom[slug] = file
	}
	f.rememberData()
	return []string{"tenant", "restore", slug, "--from-export", file, "--keep-source", "0"}
}
