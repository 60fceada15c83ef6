package pgtest

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// tmpfsMagic is the f_type statfs reports for a tmpfs.
const tmpfsMagic = 0x01021994

// Test clusters go on /dev/shm when it is a tmpfs with at least shmFree bytes free and
// the machine has at least memAvailable bytes of memory available (a package's clusters
// peak at about 1 GB, four packages run at once).
const (
	shmFree      = 4 << 30
	memAvailable = 6 << 30
)

var (
	baseOnce    sync.Once
	clusterBase string
)

// baseDir is the directory test clusters are made in: PGTEST_DIR when set; else
// /dev/shm when it is a tmpfs with room to spare (see shmFree and memAvailable); else ""
// (os.TempDir()). A test server creates and removes a few hundred files with each
// database it creates and drops; on a disk file system (ext4) that cost its servers about
// a tenth of their CPU (the inode allocator's search past recently deleted inodes), and
// it is durability tests do not need (their clusters run with fsync off).
func baseDir() string {
	baseOnce.Do(func() {
		if d, ok := os.LookupEnv("PGTEST_DIR"); ok {
			clusterBase = d
			return
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs("/dev/shm", &st); err != nil || st.Type != tmpfsMagic {
			return
		}
		if uint64(st.Bavail)*uint64(st.Bsize) < shmFree || memAvail() < memAvailable {
			return
		}
		if syscall.Access("/dev/shm", 2 /* W_OK */) != nil {
			return
		}
		clusterBase = "/dev/shm"
	})
	return clusterBase
}

// memAvail is MemAvailable of /proc/meminfo in bytes (0 when unknown).
func memAvail() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
