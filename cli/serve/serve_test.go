package serve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantctl/tenantctl/api"
	"github.com/tenantctl/tenantctl/cli/cmdtest"
	"github.com/tenantctl/tenantctl/console"
	"github.com/tenantctl/tenantctl/internal/validate"
	servelib "github.com/tenantctl/tenantctl/serve"
)

func TestServeFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *Options
	require.NoError(t, cmdtest.Execute(t, NewCmdServe(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, Options{Factory: got.Factory, Listen: servelib.DefaultListen, Wait: api.DefaultWait, SessionTTL: console.DefaultSessionTTL}, *got)

	cert, key := selfSigned(t) // the library checks the pair loads before anything runs
	require.NoError(t, cmdtest.Execute(t, NewCmdServe(cmdtest.Factory(), cmdtest.Capture(&got)), "--listen", "0.0.0.0:8443",
		"--tls-cert", cert, "--tls-key", key, "--wait", "5s", "--session-ttl", "1h", "--report-spec", "r.yaml"))
	require.Equal(t, Options{Factory: got.Factory, Listen: "0.0.0.0:8443", TLSCert: cert, TLSKey: key, Wait: 5 * time.Second,
		SessionTTL: time.Hour, ReportSpecPath: "r.yaml"}, *got)

	// The environment, when no flag is given.
	f := cmdtest.Factory()
	env := map[string]string{"TENANTCTL_SERVE_LISTEN": "127.0.0.1:9000", "TENANTCTL_SERVE_WAIT": "2s", "TENANTCTL_REPORT_SPEC": "env.yaml"}
	f.Getenv = func(k string) string { return env[k] }
	require.NoError(t, cmdtest.Execute(t, NewCmdServe(f, cmdtest.Capture(&got))))
	require.Equal(t, Options{Factory: f, Listen: "127.0.0.1:9000", Wait: 2 * time.Second, SessionTTL: console.DefaultSessionTTL, ReportSpecPath: "env.yaml"}, *got)

	for _, args := range [][]string{{"--tls-cert", "c.pem"}, {"--wait", "0s"}, {"--session-ttl", "forever"}, {"x"}} {
		require.ErrorIs(t, cmdtest.Execute(t, NewCmdServe(cmdtest.Factory(), cmdtest.Refuse[Options](t)), args...), validate.ErrInvalid, "%v", args)
	}
}

// selfSigned writes a self-signed certificate and its key into a temporary directory.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return cert, key
}

func TestProbeFlagsBecomeOptions(t *testing.T) {
	t.Parallel()
	var got *ProbeOptions
	require.NoError(t, cmdtest.Execute(t, NewCmdProbe(cmdtest.Factory(), cmdtest.Capture(&got))))
	require.Equal(t, ProbeOptions{Factory: got.Factory, Listen: servelib.DefaultListen}, *got)
	require.NoError(t, cmdtest.Execute(t, NewCmdProbe(cmdtest.Factory(), cmdtest.Capture(&got)), "--listen", "127.0.0.1:8443", "--tls"))
	require.Equal(t, ProbeOptions{Factory: got.Factory, Listen: "127.0.0.1:8443", TLS: true}, *got)
	require.ErrorIs(t, cmdtest.Execute(t, NewCmdProbe(cmdtest.Factory(), cmdtest.Refuse[ProbeOptions](t)), "x"), validate.ErrInvalid)
}
