package mover

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGooseVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sql  string
		want int64
	}{
		{"applied in order", "COPY public.goose_db_version (id, version_id, is_applied, tstamp) FROM stdin;\n1\t0\tt\tx\n2\t1\tt\tx\n3\t2\tt\tx\n\\.\n", 2},
		{"the newest row of a version decides: 2 was rolled back",
			"COPY public.goose_db_version (id, version_id, is_applied, tstamp) FROM stdin;\n1\t0\tt\tx\n2\t1\tt\tx\n3\t2\tt\tx\n4\t2\tf\tx\n\\.\n", 1},
		{"empty table", "COPY public.goose_db_version (id, version_id, is_applied, tstamp) FROM stdin;\n\\.\n", 0},
		{"other tables are ignored", "COPY public.other (a, b, c) FROM stdin;\n9\t9\tt\n\\.\n", 0},
	} {
		got, err := gooseVersion([]byte(tc.sql))
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}
	_, err := gooseVersion([]byte("COPY public.goose_db_version (id, version_id, is_applied, tstamp) FROM stdin;\nx\ty\tt\tz\n\\.\n"))
	require.Error(t, err)
}
