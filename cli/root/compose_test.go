package root

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	readme, err := readDocs()
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

// TestComposeSchedulerService checks the two scheduler replicas of docker-compose.yml:
// opt-in profile, loopback-only ports distinct per replica, distinct node names, a
// catalog DSN that matches the control service, a health check through `scheduler
// probe` on the image built by the Dockerfile, and a stop grace period longer than the
// scheduler's shutdown timeout.
func TestComposeSchedulerService(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	type service struct {
		Profiles        []string          `yaml:"profiles"`
		Build           string            `yaml:"build"`
		Image           string            `yaml:"image"`
		Command         []string          `yaml:"command"`
		Hostname        string            `yaml:"hostname"`
		Environment     map[string]string `yaml:"environment"`
		Ports           []string          `yaml:"ports"`
		StopGracePeriod string            `yaml:"stop_grace_period"`
		DependsOn       map[string]any    `yaml:"depends_on"`
		Healthcheck     struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	}
	var compose struct {
		Services map[string]service `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	for name, svc := range compose.Services {
		for _, p := range svc.Ports {
			require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "service %s must publish on loopback only: %s", name, p)
		}
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	readme, err := readDocs()
	require.NoError(t, err)
	controlPW := compose.Services["control"].Environment["POSTGRES_PASSWORD"]

	hostnames, hostPorts := map[string]bool{}, map[string]bool{}
	for _, name := range []string{"scheduler", "scheduler-2"} {
		svc, ok := compose.Services[name]
		require.True(t, ok, "service %s", name)
		require.Equal(t, []string{"scheduler"}, svc.Profiles, "%s is opt-in", name)
		require.Equal(t, ".", svc.Build)
		require.Equal(t, []string{"scheduler"}, svc.Command)
		require.Contains(t, svc.DependsOn, "control")
		hostnames[svc.Hostname] = true

		env := svc.Environment
		require.Equal(t, "postgres://postgres:"+controlPW+"@control:5432/catalog?sslmode=disable", env["TENANTCTL_CATALOG_DSN"])
		require.Equal(t, "${TENANTCTL_SECRET_KEY:-}", env["TENANTCTL_SECRET_KEY"], "the key comes from the operator's environment, never the file")
		_, listenPort, err := net.SplitHostPort(env["TENANTCTL_SCHEDULER_LISTEN"])
		require.NoError(t, err)
		require.Len(t, svc.Ports, 1)
		parts := strings.Split(svc.Ports[0], ":")
		require.Len(t, parts, 3)
		require.Equal(t, listenPort, parts[2], "%s publishes the port it listens on", name)
		hostPorts[parts[1]] = true
		require.True(t, strings.Contains(string(readme), "127.0.0.1:"+parts[1]), "README must name %s's port %s", name, parts[1])

		require.Equal(t, []string{"CMD", "/usr/local/bin/tenantctl", "scheduler", "probe"}, svc.Healthcheck.Test)
		require.Contains(t, string(dockerfile), "/usr/local/bin/tenantctl")
		grace, err := time.ParseDuration(svc.StopGracePeriod)
		require.NoError(t, err)
		shutdown, err := time.ParseDuration(env["TENANTCTL_SCHEDULER_SHUTDOWN_TIMEOUT"])
		require.NoError(t, err)
		require.Greater(t, grace, shutdown, "%s: Docker must not kill jobs the scheduler is still letting finish", name)
	}
	require.Len(t, hostnames, 2, "replicas need distinct node names")
	require.Len(t, hostPorts, 2, "replicas need distinct host ports")
	require.True(t, strings.Contains(string(readme), "docker compose --profile scheduler up"), "README must show how to start the schedulers")
}

// TestComposeServeService checks the console/API service of docker-compose.yml:
// opt-in, loopback-only, the catalog of the control service, the key from the
// operator's environment, a health check through `serve probe`, and a README that says
// how to start it.
func TestComposeServeService(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var compose struct {
		Services map[string]struct {
			Profiles    []string          `yaml:"profiles"`
			Build       string            `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			DependsOn   map[string]any    `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &compose))
	svc, ok := compose.Services["serve"]
	require.True(t, ok, "docker-compose.yml needs a serve service")
	require.Equal(t, []string{"serve"}, svc.Profiles)
	require.Equal(t, ".", svc.Build)
	require.Equal(t, []string{"serve"}, svc.Command)
	require.Contains(t, svc.DependsOn, "control")
	controlPW := compose.Services["control"].Environment["POSTGRES_PASSWORD"]
	require.Equal(t, "postgres://postgres:"+controlPW+"@control:5432/catalog?sslmode=disable", svc.Environment["TENANTCTL_CATALOG_DSN"])
	require.Equal(t, "${TENANTCTL_SECRET_KEY:-}", svc.Environment["TENANTCTL_SECRET_KEY"])
	_, listenPort, err := net.SplitHostPort(svc.Environment["TENANTCTL_SERVE_LISTEN"])
	require.NoError(t, err)
	require.Len(t, svc.Ports, 1)
	parts := strings.Split(svc.Ports[0], ":")
	require.Equal(t, []string{"127.0.0.1", parts[1], listenPort}, parts)
	require.Equal(t, []string{"CMD", "/usr/local/bin/tenantctl", "serve", "probe"}, svc.Healthcheck.Test)
	readme, err := readDocs()
	require.NoError(t, err)
	require.Contains(t, string(readme), "docker compose --profile serve up")
	require.Contains(t, string(readme), "http://127.0.0.1:"+parts[1])
}

// readDocs returns README.md and every guide under docs/ as one text: the compose
// instructions live in the guides (operations, scheduler, console) since the README
// became a front page.
func readDocs() ([]byte, error) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		return nil, err
	}
	var all []byte
	for _, f := range append([]string{"../../README.md"}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		all = append(append(all, b...), '\n')
	}
	return all, nil
}
