package main

import (
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The kill families here (a command SIGKILLed after each step, then rerun or
// reconciled) kill at every point under FAULTTEST_LONG=1 (`make test-long`), as the
// fault suite does; `make test` kills at a sample: some points of every kind the family
// has, chosen at random, the seed logged and FAULTTEST_SEED replaying it.

// killSample picks the points of a family to kill at: every index under FAULTTEST_LONG=1,
// else n of each group (a group is the points one way of settling covers: rerun,
// rolled back by reconcile, finished by reconcile), in order.
func killSample(t *testing.T, n int, groups ...[]int) map[int]bool {
	t.Helper()
	keep := map[int]bool{}
	long := os.Getenv("FAULTTEST_LONG") == "1"
	seed := rand.Uint64()
	if s := os.Getenv("FAULTTEST_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "FAULTTEST_SEED")
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var picked []int
	for _, g := range groups {
		perm := rng.Perm(len(g))
		if !long && len(perm) > n {
			perm = perm[:n]
		}
		for _, i := range perm {
			keep[g[i]] = true
			picked = append(picked, g[i])
		}
	}
	sort.Ints(picked)
	if long {
		t.Logf("kill points: all (FAULTTEST_LONG=1)")
	} else {
		t.Logf("kill points sampled: %v, FAULTTEST_SEED=%d (FAULTTEST_LONG=1 kills at every point)", picked, seed)
	}
	return keep
}

// indexes returns the indexes from 0 to n-1 for which in is true.
func indexes(n int, in func(i int) bool) []int {
	var out []int
	for i := range n {
		if in(i) {
			out = append(out, i)
		}
	}
	return out
}
