// Command tenantctl gives every customer of a managed service provider its own
// PostgreSQL database, keeps the fleet migrated, rolls data up into an MSP-only
// warehouse and audits isolation. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenantctl/tenantctl/cli/root"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := root.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
