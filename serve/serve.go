package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tenantctl/tenantctl/api"
	"github.com/tenantctl/tenantctl/console"
	"github.com/tenantctl/tenantctl/fleetenv"
	"github.com/tenantctl/tenantctl/fleetview"
	"github.com/tenantctl/tenantctl/internal/validate"
	"github.com/tenantctl/tenantctl/report"
)

// DefaultListen is where serve listens unless told otherwise: loopback only.
const DefaultListen = "127.0.0.1:8080"

// Options configure the server.
type Options struct {
	// Env is the process's environment, started; the caller stops it after [Run].
	Env *fleetenv.Env
	// ReportSpec nil means the embedded default report.
	ReportSpec *report.Spec
	// Spares, when set, reports warm-pool spare databases on the overview.
	Spares fleetview.SpareCounter
	// Wait bounds how long an API request waits for a long operation before 202.
	Wait time.Duration
	// SessionTTL is how long a console login lasts.
	SessionTTL time.Duration
	// Secure marks cookies Secure (set under TLS).
	Secure bool
	Log    hclog.Logger
}

// Server is the console and the API behind one handler.
type Server struct {
	View    *fleetview.View
	API     *api.API
	Console *console.Console
	mux     *http.ServeMux
}

// New builds the server.
func New(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	v := fleetview.New(o.Env, o.ReportSpec, o.Log.Named("view"))
	v.Spares = o.Spares
	a := api.New(api.Options{Env: o.Env, View: v, Wait: o.Wait, Log: o.Log.Named("api")})
	c, err := console.New(console.Options{Env: o.Env, View: v, Log: o.Log.Named("console"), SessionTTL: o.SessionTTL, Secure: o.Secure})
	if err != nil {
		return nil, err
	}
	s := &Server{View: v, API: a, Console: c, mux: http.NewServeMux()}
	s.mux.Handle("/api/v1/", a)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.Handle("/", c)
	return s, nil
}

// ServeHTTP serves everything.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close waits for operations still running on behalf of requests; the connections
// they used belong to the environment, which its owner stops after.
func (s *Server) Close() {
	s.API.Wait()
}

// ShutdownTimeout is how long in-flight requests get to finish on shutdown.
const ShutdownTimeout = 30 * time.Second

// ErrHalfTLS is returned by [CheckTLS] when only one of the certificate and key files is
// given. It is invalid input.
var ErrHalfTLS = validate.Errorf("give both the TLS certificate and its key, or neither")

// CheckTLS refuses half a TLS configuration.
func CheckTLS(cert, key string) error {
	if (cert == "") != (key == "") {
		return ErrHalfTLS
	}
	if cert != "" {
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			return validate.Errorf("TLS certificate: %v", err)
		}
	}
	return nil
}

// Run listens on addr (with TLS when cert and key are given) until ctx ends, then shuts
// down gracefully. ready, when set, is called with the bound address.
func Run(ctx context.Context, s *Server, addr, cert, key string, log hclog.Logger, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return validate.Errorf("listen on %s: %v", addr, err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if cert != "" {
			errc <- srv.ServeTLS(ln, cert, key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	s.Close()
	return err
}
