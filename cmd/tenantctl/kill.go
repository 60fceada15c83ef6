package main

import (
	"os"
	"syscall"
)

// killSelf ends the process as abruptly as kill -9 would, for crash tests.
func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
