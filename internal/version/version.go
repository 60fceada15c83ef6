package version

import (
	"runtime"
	"runtime/debug"
)

// stamped is set with -ldflags "-X github.com/tenantctl/tenantctl/internal/version.stamped=…".
var stamped string

// String returns the version of this binary.
func String() string {
	if stamped != "" {
		return stamped
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v // go install github.com/tenantctl/tenantctl/cmd/tenantctl@v1.2.3
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev+" + rev
}

// Go returns the Go version the binary was built with.
func Go() string { return runtime.Version() }
