// Command crowd measures dawn fuse's methods on generated crowdsourcing
// data shaped like crowd-kit's D_Product benchmark (8,315 objects, 24,945
// answers, 176 workers, skewed worker activity, binary answers) and prints
// a JSON results record: the accuracy of every method over several seeds.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/dawn-ml/dawn/fuse"
)

func main() {
	seeds := flag.Int("seeds", 5, "number of generated data sets")
	flag.Parse()
	cfg := fuse.SynthConfig{Objects: 8315, Sources: 176, Claims: 24945, K: 2, Skew: 1,
		GroupAcc: []float64{0.95, 0.85, 0.7, 0.5}, Noise: 0.05, Prior: []float64{0.75, 0.25}, Gap: 0.3}
	methods := append([]string{}, fuse.CategoricalMethods...)
	acc := map[string][]float64{}
	secs := map[string]float64{}
	for seed := 1; seed <= *seeds; seed++ {
		cfg.Seed = uint64(seed)
		s := fuse.Synthesize(cfg)
		for _, m := range append(methods, "slimfast+features") {
			opt := fuse.Options{Method: m, Seed: uint64(seed)}
			if m == "slimfast+features" {
				opt.Method, opt.Features = fuse.SLiMFast, s.Features
			}
			t0 := time.Now()
			r, err := fuse.Fit(context.Background(), s.Claims, opt)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			secs[m] += time.Since(t0).Seconds() / float64(*seeds)
			acc[m] = append(acc[m], r.ScoreCategorical(s.Truth, nil).Accuracy)
		}
	}
	type row struct {
		Method  string    `json:"method"`
		Mean    float64   `json:"accuracy_mean"`
		SD      float64   `json:"accuracy_sd"`
		PerSeed []float64 `json:"accuracy_per_seed"`
		Seconds float64   `json:"seconds_mean"`
	}
	var rows []row
	for _, m := range append(methods, "slimfast+features") {
		var s, ss float64
		for _, v := range acc[m] {
			s += v
			ss += v * v
		}
		n := float64(len(acc[m]))
		mean := s / n
		rows = append(rows, row{m, mean, math.Sqrt(max(ss/n-mean*mean, 0)), acc[m], secs[m]})
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"config": cfg, "results": rows})
}
