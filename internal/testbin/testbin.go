// Package testbin gives tests that run the tenantctl program as a subprocess its
// binary: the one named by TENANTCTL_TEST_BINARY when set (`make test` builds it once
// for every test binary of the run), else one built with `go build` once per test binary.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// EnvVar names a tenantctl binary already built from this tree, used instead of
// building one. It must be built from the same source as the tests (`make test` builds
// it just before `go test`): a stale one tests old code.
const EnvVar = "TENANTCTL_TEST_BINARY"

var (
	once sync.Once
	path string
	err  error
)

// Tenantctl returns the path of the tenantctl binary, building it on the first call of
// the test binary when TENANTCTL_TEST_BINARY is unset. It fails the test when there is
// none.
func Tenantctl(t testing.TB) string {
	t.Helper()
	once.Do(func() { path, err = find() })
	if err != nil {
		t.Fatalf("testbin: %v", err)
	}
	return path
}

func find() (string, error) {
	if p := os.Getenv(EnvVar); p != "" {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", EnvVar, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s is not an executable file", EnvVar, p)
		}
		return filepath.Abs(p)
	}
	dir, err := os.MkdirTemp("", "tenantctl-bin-")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "tenantctl")
	if out, err := exec.Command("go", "build", "-o", p, "github.com/tenantctl/tenantctl/cmd/tenantctl").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return p, nil
}
