package main

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
)

// countingProxy forwards TCP connections to a PostgreSQL server and counts round trips:
// each time a client sends after the server said it was ready (ReadyForQuery) or asked
// for the next authentication message, the client had waited for the network. Pipelined
// statements sent together count once, and so does a COPY however many rows it streams;
// the closing Terminate does not count (nothing waits for it). A login counts its own
// round trips (startup and the SCRAM exchange: three).
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
	waiting := true // the client's startup message starts a round trip
	var done sync.WaitGroup
	done.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				mu.Lock()
				if waiting && buf[0] != 'X' {
					p.trips.Add(1)
				}
				waiting = false
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
	// The server's messages are a type byte and a length (which counts itself); the
	// last complete one says whether the server now waits for the client.
	var header []byte
	var skip int
	buf := make([]byte, 64<<10)
	for {
		n, err := server.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			if skip > 0 {
				k := min(skip, len(data))
				skip, data = skip-k, data[k:]
				continue
			}
			k := min(5-len(header), len(data))
			header, data = append(header, data[:k]...), data[k:]
			if len(header) < 5 {
				continue
			}
			typ := header[0]
			skip = int(header[1])<<24 | int(header[2])<<16 | int(header[3])<<8 | int(header[4]) - 4
			header = header[:0]
			mu.Lock()
			waiting = typ == 'Z' || typ == 'R'
			mu.Unlock()
		}
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
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
