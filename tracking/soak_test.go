package tracking_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/tracking"
)

// 32 clients log metric batches concurrently for 60 s (5 s with -short);
// afterwards every metric the server acknowledged is in its run's history,
// exactly once.
func TestConcurrentClientsLoseNothing(t *testing.T) {
	c, _ := newServer(t)
	ctx := t.Context()
	dur := 60 * time.Second
	if testing.Short() {
		dur = 5 * time.Second
	}
	exp, err := c.CreateExperiment(ctx, "soak")
	if err != nil {
		t.Fatal(err)
	}
	const clients = 32
	acked := make([]int, clients)
	runs := make([]string, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	deadline := time.Now().Add(dur)
	for i := 0; i < clients; i++ {
		run, err := c.CreateRun(ctx, exp, fmt.Sprintf("client%d", i))
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = run.Info.RunID
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			step := 0
			for time.Now().Before(deadline) {
				var batch []tracking.Metric
				for j := 0; j < 50; j++ {
					batch = append(batch, tracking.Metric{Key: "m", Value: tracking.Float(step), Timestamp: tracking.Int64(step), Step: tracking.Int64(step)})
					step++
				}
				if err := c.LogBatch(ctx, runs[i], batch, nil, nil); err != nil {
					// Not acknowledged: those points need not be there.
					step -= 50
					errs <- err
					return
				}
				acked[i] = step
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a client's batch failed: %v", err)
	}
	total := 0
	for i, run := range runs {
		hist, err := c.GetMetricHistory(ctx, run, "m")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != acked[i] {
			t.Fatalf("client %d: %d points acknowledged, %d stored", i, acked[i], len(hist))
		}
		seen := make([]bool, acked[i])
		for _, m := range hist {
			s := int(m.Step)
			if s < 0 || s >= acked[i] || seen[s] || float64(m.Value) != float64(s) {
				t.Fatalf("client %d: unexpected point %+v", i, m)
			}
			seen[s] = true
		}
		total += acked[i]
	}
	t.Logf("%d clients, %s: %d metrics acknowledged and all stored", clients, dur, total)
}
