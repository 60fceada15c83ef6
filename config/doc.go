// Package config reads and writes tenantctl's optional config file, finds it, selects a
// named context in it, and resolves each setting in order: command-line flag, then
// TENANTCTL_* environment variable, then the config file, then the default.
//
// It holds settings only; it never opens a connection and never holds a key.
package config
