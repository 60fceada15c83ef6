package dbconn

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"
)

// A liveness check asks "is anything at this address answering?" without logging in: it
// opens a TCP (or Unix socket) connection and sends an SSLRequest, which the postmaster
// answers with one byte before any authentication, pg_hba check or connection limit. A
// reply of any kind (the byte, a refusal, a reset, the connection closed) means the
// server answers; only silence until the timeout means it stopped. Nothing is logged by
// PostgreSQL for a connection that ends after this exchange.
var sslRequest = binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), 80877103)

// probe reports whether network/addr replied within timeout.
func probe(network, addr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	c, err := (&net.Dialer{Deadline: deadline}).Dial(network, addr)
	if err != nil {
		return !isTimeout(err)
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return true
	}
	if _, err := c.Write(sslRequest); err != nil {
		return !isTimeout(err)
	}
	var b [1]byte
	_, err = c.Read(b[:])
	return !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// target is one server address as liveness checks see it. Connections to the same
// server share its checks: while one runs, others wait for its answer, and an answer
// newer than fresh is reused, so a hundred slow statements on one server cost one check.
type target struct {
	network, addr string

	mu       sync.Mutex
	answered time.Time     // when the server last answered a check
	running  chan struct{} // closed when the running check ends; nil if none
	last     bool          // the outcome of the last check
}

var targets sync.Map // network+" "+addr -> *target

func targetFor(network, addr string) *target {
	key := network + " " + addr
	if t, ok := targets.Load(key); ok {
		return t.(*target)
	}
	t, _ := targets.LoadOrStore(key, &target{network: network, addr: addr})
	return t.(*target)
}

// alive reports whether the server answers, checking at most once per fresh.
func (t *target) alive(timeout, fresh time.Duration) bool {
	t.mu.Lock()
	if !t.answered.IsZero() && time.Since(t.answered) < fresh {
		t.mu.Unlock()
		return true
	}
	if ch := t.running; ch != nil {
		t.mu.Unlock()
		<-ch
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.last
	}
	ch := make(chan struct{})
	t.running = ch
	t.mu.Unlock()

	ok := probe(t.network, t.addr, timeout)

	t.mu.Lock()
	defer t.mu.Unlock()
	if ok {
		t.answered = time.Now()
	}
	t.last, t.running = ok, nil
	close(ch)
	return ok
}
