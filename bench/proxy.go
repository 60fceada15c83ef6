package main

import (
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
)

// countingProxy forwards TCP connections to a PostgreSQL server and counts round trips:
// each time a client sends after the server has answered (or sends first), that is one
// more wait for the network. Pipelined statements sent together count once, and so does
// a COPY however many rows it streams. A login counts its own round trips (startup and
// the SCRAM exchange: three).
type countingProxy struct {
	ln     net.Listener
	target string
	conns  atomic.Int64
	trips  atomic.Int64
	wg     sync.WaitGroup
}

func newCountingProxy(target string) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	return p, nil
}

// via rewrites dsn to go through the proxy.
func (p *countingProxy) via(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *countingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.conns.Add(1)
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *countingProxy) forward(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	var mu sync.Mutex
	answered := true // the client's first message starts a round trip
	var done sync.WaitGroup
	done.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				mu.Lock()
				if answered {
					p.trips.Add(1)
					answered = false
				}
				mu.Unlock()
				if _, werr := server.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		_ = server.(*net.TCPConn).CloseWrite()
	})
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			mu.Lock()
			answered = true
			mu.Unlock()
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = client.Close()
			}
			break
		}
	}
	_ = client.Close()
	done.Wait()
}

// Close stops accepting and waits for the forwarded connections to end.
func (p *countingProxy) Close() {
	_ = p.ln.Close()
	p.wg.Wait()
}
