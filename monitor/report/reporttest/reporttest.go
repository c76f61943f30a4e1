// Package reporttest makes the monitor windows that the report's tests draw:
// a reference and three checked windows of (x, country, version), the last
// with a planted {country=CA, version=v3} shift.
package reporttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/monitor"
)

// Planted returns the reference profile of 3,000 rows and the reports of
// three 3,000-row windows checked against it: two in distribution, the
// last with x moved by +6 in the rows of country CA running version v3.
func Planted(tb testing.TB) (*monitor.Profile, []*monitor.Report) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	p, err := monitor.BuildProfile(ctx, frame(tb, rng, 3000, false), monitor.ProfileOptions{Seed: 1, Source: "ref.csv"})
	if err != nil {
		tb.Fatal(err)
	}
	var rs []*monitor.Report
	for _, shift := range []bool{false, false, true} {
		r, err := monitor.Check(ctx, p, frame(tb, rng, 3000, shift), monitor.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	return p, rs
}

// frame writes n rows of (x, country, version) and reads them back; with
// shift, x moves by +6 in the rows of country CA running version v3.
func frame(tb testing.TB, rng *rand.Rand, n int, shift bool) *explain.Frame {
	tb.Helper()
	var b strings.Builder
	b.WriteString("x,country,version\n")
	countries, versions := []string{"US", "CA", "MX", "FR"}, []string{"v1", "v2", "v3"}
	for range n {
		c, v := countries[rng.IntN(4)], versions[rng.IntN(3)]
		x := rng.NormFloat64()
		if shift && c == "CA" && v == "v3" {
			x += 6
		}
		fmt.Fprintf(&b, "%.4f,%s,%s\n", x, c, v)
	}
	path := filepath.Join(tb.TempDir(), "w.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	f, err := explain.ReadFrame(path, explain.ReadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
