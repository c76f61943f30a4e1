package auth_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/auth"
	"github.com/dawn-ml/dawn/tracking/server"
)

// rssMB is this process's resident set size in MB (Linux).
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// TestLoginUnderAttack is the acceptance check of the login limits: 128
// clients sending wrong passwords as fast as they are answered, for
// DAWN_ATTACK_SECONDS (default 8), with the failure lockouts off so that
// the hashing pool alone bounds the work; meanwhile a signed-in user's
// requests are timed. Then wrong-password and unknown-user logins are
// timed alternately. The server runs in this process, so the RSS measured
// includes the attacking clients. bench/auth/run.sh records a run. The
// memory bound and the signed-in user's success are always checked; the
// latency and timing bounds under DAWN_LOGIN_STRICT=1.
func TestLoginUnderAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("an 8 s load test; run without -short")
	}
	secs := 8
	if s, err := strconv.Atoi(os.Getenv("DAWN_ATTACK_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	dir := t.TempDir()
	store, err := server.OpenStore(t.Context(), filepath.Join(dir, "t.db"), tracking.ProxyScheme)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	lim := auth.DefaultLoginLimits()
	lim.UserFailures, lim.AddrFailures = 0, 0
	users, err := auth.OpenWithLimits(t.Context(), filepath.Join(dir, "auth.db"), "admin", "s3cret-admin", lim)
	if err != nil {
		t.Fatal(err)
	}
	defer users.Close()
	if _, err := users.CreateUser(t.Context(), "alice", "alice-pw", false); err != nil {
		t.Fatal(err)
	}
	repo, _ := artifact.NewLocal(filepath.Join(dir, "a"))
	srv := httptest.NewServer(server.Handler(store, repo, "t", nil, &auth.Guard{Users: users, Data: store}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func(user, pass string) (int, time.Duration) {
		req, _ := http.NewRequest("GET", srv.URL+api+"experiments/get?experiment_id=0", nil)
		req.SetBasicAuth(user, pass)
		start := time.Now()
		res, err := client.Do(req)
		d := time.Since(start)
		if err != nil {
			return 0, d
		}
		res.Body.Close()
		return res.StatusCode, d
	}
	if code, _ := get("alice", "alice-pw"); code != 200 {
		t.Fatalf("alice: %d", code)
	}
	base := rssMB()

	// Wrong password vs unknown user, alternating, before the load.
	samples := 30
	if s, err := strconv.Atoi(os.Getenv("DAWN_LOGIN_SAMPLES")); err == nil && s > 0 {
		samples = s
	}
	var wrong, unknown []time.Duration
	for i := range 2 * samples {
		if i%2 == 0 {
			code, d := get("alice", fmt.Sprintf("guess-%d", i))
			if code != 401 {
				t.Fatalf("wrong password: %d", code)
			}
			wrong = append(wrong, d)
		} else {
			code, d := get(fmt.Sprintf("nobody%d", i), "guess")
			if code != 401 {
				t.Fatalf("unknown user: %d", code)
			}
			unknown = append(unknown, d)
		}
	}
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	mw, mu := median(wrong), median(unknown)
	diff := float64(mw-mu) / float64(mw)
	if diff < 0 {
		diff = -diff
	}

	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				if r := int64(rssMB()); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	})
	var sent, refused, denied atomic.Int64
	for i := range 128 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				user := "alice"
				if n%2 == 1 {
					user = fmt.Sprintf("ghost%d", i)
				}
				code, _ := get(user, fmt.Sprintf("bad-%d-%d", i, n))
				sent.Add(1)
				switch code {
				case 429:
					refused.Add(1)
				case 401:
					denied.Add(1)
				}
			}
		})
	}
	var lat []time.Duration
	failed := 0
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for time.Now().Before(deadline) {
		code, d := get("alice", "alice-pw")
		if code != 200 {
			failed++
		}
		lat = append(lat, d)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	report := fmt.Sprintf("login attack: 128 concurrent bad logins for %d s, %d hashing slots, lockouts off\n"+
		"  attacker requests %d: 401 (checked) %d, 429 (refused, pool full) %d\n"+
		"  RSS before %.0f MB, peak during %d MB\n"+
		"  signed-in user: %d requests, %d failed, p50 %v, p99 %v\n"+
		"  wrong password median %v, unknown user median %v (%d each, before the load): difference %.1f%%\n",
		secs, lim.HashSlots, sent.Load(), denied.Load(), refused.Load(), base, peak.Load(),
		len(lat), failed, p50.Round(time.Microsecond), p99.Round(time.Microsecond),
		mw.Round(time.Microsecond), mu.Round(time.Microsecond), samples, 100*diff)
	t.Log("\n" + report)
	if out := os.Getenv("DAWN_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(report), 0o644)
	}
	if peak.Load() >= 500 {
		t.Errorf("peak RSS %d MB, want < 500", peak.Load())
	}
	if failed > 0 {
		t.Errorf("%d signed-in requests failed", failed)
	}
	// Latency and timing figures depend on how quiet the machine is; they
	// are held to the acceptance bounds when DAWN_LOGIN_STRICT=1 (as
	// bench/auth/run.sh sets), and reported otherwise.
	if os.Getenv("DAWN_LOGIN_STRICT") != "1" {
		return
	}
	if p99 > 100*time.Millisecond {
		t.Errorf("signed-in p99 %v, want <= 100 ms", p99)
	}
	if diff > 0.10 {
		t.Errorf("wrong password %v vs unknown user %v: %.1f%% apart, want within 10%%", mw, mu, 100*diff)
	}
}
