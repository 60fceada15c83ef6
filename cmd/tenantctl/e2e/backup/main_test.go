package backup_test

import (
	"os"
	"testing"

	"github.com/tenantctl/tenantctl/cmd/tenantctl/e2e"
)

// Five tests at once: the restores wait on pgBackRest and recovery, on archiving servers
// of their own (pgtest.Archiving); only the logical backup tests take a pair.
func TestMain(m *testing.M) {
	os.Exit(e2e.Main(m, 5, 2))
}
