package fault

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

var testPoint = Register("fault.test.point", "a point the package's own tests hit")

// TestHitKills runs this test binary as a child with TENANTCTL_FAULT set and checks it
// dies of SIGKILL at the Nth hit, not before.
func TestHitKills(t *testing.T) {
	t.Parallel()
	if os.Getenv("FAULT_CHILD") == "1" {
		for i := 1; i <= 3; i++ {
			testPoint.Hit()
			os.Stdout.WriteString("survived hit\n")
		}
		os.Exit(0)
	}
	for _, tc := range []struct {
		spec     string
		survived int
		killed   bool
	}{
		{"fault.test.point", 0, true},
		{"fault.test.point:3", 2, true},
		{"fault.test.point:9", 3, false},
		{"no.such.point", 3, false},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestHitKills$")
		cmd.Env = append(os.Environ(), "FAULT_CHILD=1", Env+"="+tc.spec)
		out, err := cmd.Output()
		var exitErr *exec.ExitError
		if tc.killed {
			require.True(t, errors.As(err, &exitErr), "%s: %v", tc.spec, err)
			require.Equal(t, "signal: killed", exitErr.String(), tc.spec)
		} else {
			require.NoError(t, err, tc.spec)
		}
		require.Equal(t, tc.survived, countLines(string(out), "survived hit"), tc.spec)
	}
}

func countLines(s, line string) int {
	n := 0
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if s[:i] == line {
			n++
		}
		if i == len(s) {
			break
		}
		s = s[i+1:]
	}
	return n
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	require.Same(t, testPoint, Lookup("fault.test.point"))
	require.Panics(t, func() { Register("fault.test.point", "dup") })
	require.Panics(t, func() { Register("bad name", "") })
	found := false
	for _, p := range Points() {
		found = found || p == testPoint
	}
	require.True(t, found)
}

func BenchmarkHitUnarmed(b *testing.B) {
	for b.Loop() {
		testPoint.Hit()
	}
}
