package monitor

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadProfile feeds arbitrary bytes as monitor_profile.json: loading
// either fails with an error or yields a profile Check can use without
// panicking.
func FuzzLoadProfile(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 5))
	p, err := BuildProfile(context.Background(), frameOf(f, planted(rng, 200, false)), ProfileOptions{})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := p.Save(dir); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(filepath.Join(dir, ProfileFile))
	f.Add(seed)
	f.Add([]byte(`{"version":1,"columns":[{"name":"x","kind":"numeric","count":3,"sample":[3,1,2]}]}`))
	f.Add([]byte(`{"version":1,"output":{"calibration":{"x":[],"y":[]}}}`))
	window := frameOf(f, planted(rng, 50, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, ProfileFile), b, 0o644)
		p, err := LoadProfile(d)
		if err != nil {
			return
		}
		Check(context.Background(), p, window, Options{})
	})
}
