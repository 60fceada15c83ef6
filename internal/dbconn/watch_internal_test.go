package dbconn

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

func TestPGDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"300000": 5 * time.Minute, "0": 0, "60s": time.Minute, "60000ms": time.Minute, "5min": 5 * time.Minute,
		"1.5 h": 90 * time.Minute, "1d": 24 * time.Hour, "500us": 500 * time.Microsecond, " 2s ": 2 * time.Second,
	} {
		got, ok := pgDuration(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "soon", "5 parsecs", "-1", "1e3"} {
		_, ok := pgDuration(in)
		require.False(t, ok, in)
	}
}

func TestMentionsStatementTimeout(t *testing.T) {
	t.Parallel()
	for sql, want := range map[string]bool{
		"SET LOCAL statement_timeout = 0":                    true,
		"set Statement_Timeout to '1h'":                      true,
		"SELECT set_config('statement_timeout', '0', false)": true,
		"SELECT 1":             false,
		"SET lock_timeout = 0": false,
		"statement_timeou":     false,
	} {
		require.Equal(t, want, mentionsStatementTimeout(sql), sql)
	}
}

func TestServerName(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://u@db1.example:6432/db?sslmode=prefer":  "db1.example:6432",
		"postgres://u@db1.example/db?sslmode=disable":      "db1.example:5432",
		"postgres://u@db1.example,db2.example:7/db":        "10.0.0.9:7",
		"host=/var/run/postgresql port=5433 sslmode=allow": "/var/run/postgresql:5433",
	} {
		cfg, err := pgconn.ParseConfig(dsn)
		require.NoError(t, err)
		require.Equal(t, want, serverName(cfg, "10.0.0.9:7"), dsn)
	}
}

// Callers that tell "no answer" from "refused" (the audit) count a frozen server as no
// answer, however pgconn wraps the error.
func TestGivingUpIsNoAnswer(t *testing.T) {
	t.Parallel()
	for _, err := range []error{&SilentServerError{Server: "h:5432"}, &StatementDeadlineError{Server: "h:5432"}} {
		require.True(t, NoAnswer(err))
		require.True(t, NoAnswer(fmt.Errorf("inspect: %w", err)))
	}
}

// BenchmarkSocket is what watching adds to each socket read and write (a timer reset
// and stop, two atomic stores), against the bare socket, through an in-memory pipe.
func BenchmarkSocket(b *testing.B) {
	for _, watched := range []bool{false, true} {
		name := "plain"
		if watched {
			name = "watched"
		}
		b.Run(name, func(b *testing.B) {
			client, server := net.Pipe()
			c := net.Conn(client)
			if watched {
				c = newWatched(client, DefaultWatch, "pipe", targetFor("pipe", "bench"))
			}
			defer c.Close()
			go func() { _, _ = io.Copy(server, server) }()
			buf := make([]byte, 64)
			for b.Loop() {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
