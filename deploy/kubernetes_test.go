package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tenantctl/tenantctl/scheduler"
)

type doc = map[string]any

// get walks a parsed manifest: get(d, "spec", "template", "spec", "containers", 0, "ports").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(doc)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// manifests parses every YAML document under deploy/kubernetes, keyed by kind/name.
func manifests(t *testing.T) map[string]doc {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string]doc{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var d doc
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			for _, field := range []string{"apiVersion", "kind"} {
				require.NotEmpty(t, d[field], "%s: %s", f, field)
			}
			name, _ := get(d, "metadata", "name").(string)
			if d["kind"] != "Kustomization" {
				require.NotEmpty(t, name, "%s: metadata.name", f)
			}
			key := d["kind"].(string) + "/" + name
			require.NotContains(t, out, key, "%s: duplicate %s", f, key)
			out[key] = d
			d["_file"] = filepath.Base(f)
		}
	}
	return out
}

func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	m := manifests(t)
	for _, want := range []string{"Deployment/tenantctl-scheduler", "Service/tenantctl-scheduler", "Deployment/tenantctl-console",
		"Service/tenantctl-console", "ServiceMonitor/tenantctl-scheduler", "PrometheusRule/tenantctl", "Secret/tenantctl", "Kustomization/"} {
		require.Contains(t, m, want)
	}

	// The kustomization lists every other file.
	var listed []string
	for _, r := range get(m["Kustomization/"], "resources").([]any) {
		listed = append(listed, r.(string))
	}
	for _, d := range m {
		if f := d["_file"].(string); f != "kustomization.yaml" {
			require.Contains(t, listed, f)
		}
	}

	sched := m["Deployment/tenantctl-scheduler"]
	require.Equal(t, 2, get(sched, "spec", "replicas"), "two replicas: one leads, one stands by")
	c := get(sched, "spec", "template", "spec", "containers", 0).(doc)
	require.Equal(t, []any{"scheduler"}, c["args"])
	env := envOf(c)
	require.Equal(t, "0.0.0.0:9477", env["TENANTCTL_SCHEDULER_LISTEN"])
	require.Contains(t, scheduler.DefaultListen, ":9477", "the manifests use the default port")
	require.Equal(t, "/etc/tenantctl/secret.key", env["TENANTCTL_SECRET_KEY_FILE"])
	require.Equal(t, 9477, get(c, "ports", 0, "containerPort"))
	require.Equal(t, "/healthz", get(c, "livenessProbe", "httpGet", "path"))
	require.Equal(t, "/readyz", get(c, "readinessProbe", "httpGet", "path"))
	requireSecretWired(t, m, sched)
	requireSelects(t, m["Service/tenantctl-scheduler"], sched)
	require.Equal(t, get(m["Service/tenantctl-scheduler"], "spec", "ports", 0, "name"),
		get(m["ServiceMonitor/tenantctl-scheduler"], "spec", "endpoints", 0, "port"), "the ServiceMonitor scrapes the Service's port")
	require.Equal(t, get(m["Service/tenantctl-scheduler"], "metadata", "labels"),
		get(m["ServiceMonitor/tenantctl-scheduler"], "spec", "selector", "matchLabels"), "the ServiceMonitor selects the Service")

	console := m["Deployment/tenantctl-console"]
	cc := get(console, "spec", "template", "spec", "containers", 0).(doc)
	require.Equal(t, []any{"serve", "--listen", "0.0.0.0:8080"}, cc["args"])
	require.Equal(t, 8080, get(cc, "ports", 0, "containerPort"))
	requireSecretWired(t, m, console)
	requireSelects(t, m["Service/tenantctl-console"], console)

	// Every pod runs as non-root with a read-only root file system.
	for _, d := range []doc{sched, console} {
		require.Equal(t, true, get(d, "spec", "template", "spec", "securityContext", "runAsNonRoot"))
		require.Equal(t, true, get(d, "spec", "template", "spec", "containers", 0, "securityContext", "readOnlyRootFilesystem"))
	}
}

func envOf(c doc) map[string]string {
	out := map[string]string{}
	for _, e := range c["env"].([]any) {
		v, _ := get(e, "value").(string)
		out[get(e, "name").(string)] = v
	}
	return out
}

// requireSecretWired checks the Deployment takes the catalog DSN and the key from the
// Secret, and only keys the Secret has.
func requireSecretWired(t *testing.T, m map[string]doc, d doc) {
	t.Helper()
	secret := m["Secret/tenantctl"]
	keys := get(secret, "stringData").(doc)
	c := get(d, "spec", "template", "spec", "containers", 0)
	found := false
	for _, e := range get(c, "env").([]any) {
		if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
			require.Equal(t, "tenantctl", get(ref, "name"))
			require.Contains(t, keys, get(ref, "key"))
			found = found || get(e, "name") == "TENANTCTL_CATALOG_DSN"
		}
	}
	require.True(t, found, "TENANTCTL_CATALOG_DSN comes from the Secret")
	vol := get(d, "spec", "template", "spec", "volumes", 0)
	require.Equal(t, "tenantctl", get(vol, "secret", "secretName"))
	require.Contains(t, keys, get(vol, "secret", "items", 0, "key"))
	require.Equal(t, "/etc/tenantctl", get(c, "volumeMounts", 0, "mountPath"))
}

func requireSelects(t *testing.T, svc, deploy doc) {
	t.Helper()
	sel := get(svc, "spec", "selector").(doc)
	labels := get(deploy, "spec", "template", "metadata", "labels").(doc)
	for k, v := range sel {
		require.Equal(t, v, labels[k], "service selector %s", k)
	}
	port := get(svc, "spec", "ports", 0, "targetPort")
	require.Equal(t, port, get(deploy, "spec", "template", "spec", "containers", 0, "ports", 0, "name"), "the Service targets the container's named port")
}

// TestAlertRulesUseRealMetrics: every metric an alert names is one the scheduler exports.
func TestAlertRulesUseRealMetrics(t *testing.T) {
	t.Parallel()
	m := manifests(t)
	names := scheduler.MetricNames()
	metricRE := regexp.MustCompile(`tenantctl_[a-z_]+`)
	n := 0
	uses := map[string][]string{} // alert → metrics it names
	for _, g := range get(m["PrometheusRule/tenantctl"], "spec", "groups").([]any) {
		for _, r := range get(g, "rules").([]any) {
			expr := get(r, "expr").(string)
			require.NotEmpty(t, get(r, "alert"))
			require.NotEmpty(t, get(r, "labels", "severity"))
			alert := get(r, "alert").(string)
			require.NotContains(t, uses, alert, "alert %s defined twice", alert)
			uses[alert] = metricRE.FindAllString(expr, -1)
			for _, name := range metricRE.FindAllString(expr, -1) {
				require.True(t, slices.Contains(names, name), "alert %v uses %s, which the scheduler does not export (it exports %s)",
					get(r, "alert"), name, strings.Join(names, ", "))
				n++
			}
		}
	}
	require.Greater(t, n, 5)

	// The backup alerts (docs/backup-and-recovery.md): the newest backup's age against
	// the configured maximum, a configured server without a backup, WAL archiving
	// failing, and its statistics unreadable.
	for alert, metrics := range map[string][]string{
		"TenantctlBackupTooOld":          {"tenantctl_backup_last_success_timestamp_seconds", "tenantctl_backup_max_age_seconds"},
		"TenantctlBackupMissing":         {"tenantctl_backup_configured", "tenantctl_backup_last_success_timestamp_seconds"},
		"TenantctlWALArchivingFailing":   {"tenantctl_wal_archiving_failing"},
		"TenantctlWALArchiverUnreadable": {"tenantctl_wal_archiver_up"},
	} {
		require.Contains(t, uses, alert)
		for _, name := range metrics {
			require.Contains(t, uses[alert], name, "alert %s", alert)
		}
	}
}
