package fault

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Env names the point at which the process kills itself: "name" (first hit) or
// "name:N" (Nth hit).
const Env = "TENANTCTL_FAULT"

// Point is a registered kill point.
type Point struct {
	name string
	doc  string
	hits atomic.Int64
}

var (
	mu       sync.Mutex
	registry = map[string]*Point{}

	// armed is the point named by the environment, resolved once; nil (the usual case)
	// makes every Hit a single atomic load.
	armed     atomic.Pointer[Point]
	armedAt   int64
	armedOnce sync.Once
)

// Register declares a kill point. Call it once per name, at package level; a duplicate
// name panics, so two places can never share one name.
func Register(name, doc string) *Point {
	if name == "" || strings.ContainsAny(name, ": \t\n") {
		panic("fault: invalid point name " + strconv.Quote(name))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("fault: point registered twice: " + name)
	}
	p := &Point{name: name, doc: doc}
	registry[name] = p
	return p
}

// Name is the point's name, as TENANTCTL_FAULT spells it.
func (p *Point) Name() string { return p.name }

// Doc says where the point is.
func (p *Point) Doc() string { return p.doc }

// Hit kills the process with SIGKILL when TENANTCTL_FAULT names this point and this is
// the hit it names; otherwise it returns at once.
func (p *Point) Hit() {
	armedOnce.Do(arm)
	if armed.Load() != p {
		return
	}
	if p.hits.Add(1) < armedAt {
		return
	}
	Kill()
}

// Kill ends the process as abruptly as kill -9 would: no deferred function runs, no
// connection is closed politely, no buffer is flushed. (os.Exit would still close
// sockets cleanly and is not a crash.)
func Kill() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	// SIGKILL is asynchronous: never return into the caller while it is on its way.
	// Sleep rather than block forever: with every goroutine blocked and no timer
	// pending, the runtime would declare a deadlock and exit with status 2 first (seen
	// on a loaded machine).
	for {
		time.Sleep(time.Second)
	}
}

func arm() {
	spec := os.Getenv(Env)
	if spec == "" {
		return
	}
	name, nth := spec, int64(1)
	if i := strings.LastIndexByte(spec, ':'); i >= 0 {
		n, err := strconv.ParseInt(spec[i+1:], 10, 64)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "tenantctl: ignoring %s=%q: the hit count must be a positive integer\n", Env, spec)
			return
		}
		name, nth = spec[:i], n
	}
	mu.Lock()
	p := registry[name]
	mu.Unlock()
	if p == nil {
		fmt.Fprintf(os.Stderr, "tenantctl: %s=%q names no kill point\n", Env, spec)
		return
	}
	armedAt = nth
	armed.Store(p)
}

// Points returns every registered point, sorted by name.
func Points() []*Point {
	mu.Lock()
	defer mu.Unlock()
	out := make([]*Point, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Lookup returns the point named name, or nil.
func Lookup(name string) *Point {
	mu.Lock()
	defer mu.Unlock()
	return registry[name]
}
