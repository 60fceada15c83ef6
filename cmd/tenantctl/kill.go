package main

import "github.com/tenantctl/tenantctl/internal/fault"

// killSelf ends the process as abruptly as kill -9 would, for crash tests.
func killSelf() { fault.Kill() }
