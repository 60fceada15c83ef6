package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestComposeMatchesReadme checks docker-compose.yml (there is no Docker engine to run
// it here): loopback-only ports, health checks, init scripts that exist, and README
// commands whose ports and credentials match the file.
func TestComposeMatchesReadme(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			Volumes     []string          `yaml:"volumes"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)

	hostPort := map[string]string{}
	for _, name := range []string{"control", "pg-a", "pg-b"} {
		svc, ok := compose.Services[name]
		require.True(t, ok, "service %s", name)
		require.NotEmpty(t, svc.Healthcheck.Test, "service %s needs a health check", name)
		require.Len(t, svc.Ports, 1)
		parts := strings.Split(svc.Ports[0], ":")
		require.Equal(t, "127.0.0.1", parts[0], "service %s must bind to loopback only", name)
		hostPort[name] = parts[1]
		for _, v := range svc.Volumes {
			src := strings.Split(v, ":")[0]
			_, err := os.Stat("../../" + src)
			require.NoError(t, err, "volume source %s", src)
		}
	}
	adminInit, err := os.ReadFile("../../deploy/compose/server-init.sql")
	require.NoError(t, err)
	require.Contains(t, string(adminInit), "LOGIN CREATEDB CREATEROLE")
	require.NotContains(t, string(adminInit), "SUPERUSER")

	controlPW := compose.Services["control"].Environment["POSTGRES_PASSWORD"]
	for _, want := range []string{
		"postgres://postgres:" + controlPW + "@127.0.0.1:" + hostPort["control"] + "/catalog",
		"postgres://postgres:" + controlPW + "@127.0.0.1:" + hostPort["control"] + "/warehouse",
		"tenantctl-admin-dev-password@127.0.0.1:" + hostPort["pg-a"] + "/",
		"tenantctl-admin-dev-password@127.0.0.1:" + hostPort["pg-b"] + "/",
	} {
		require.Contains(t, string(readme), want)
	}
	require.Contains(t, string(adminInit), "tenantctl-admin-dev-password")
}
