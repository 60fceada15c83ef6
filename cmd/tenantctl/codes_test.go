package main

import "github.com/tenantctl/tenantctl/cli/cmdutil"

// exitViolations is the audit's "violations found" status, under the name this package's
// tests use.
const exitViolations = cmdutil.ExitViolations
