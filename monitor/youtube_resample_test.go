package monitor

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/model"
)

// falseAlarmLimit is the acceptance bound: at most 5 of 100 resampled
// in-distribution windows may raise a dataset drift alarm.
const falseAlarmLimit = 5

// TestYouTubeFalseAlarmRate measures the false-alarm rate of the drift
// check on 100 independent resamples, where TestYouTubeShift draws 100
// windows against one reference: the model is trained on 700 rows of the
// tutorial train split (videos 1–4, split seed 10 as there); each
// resample r draws, from the 886 held-out rows, a fresh reference of 400
// rows (profiled with the model) and a disjoint window of 200 rows, and
// checks the window against that reference. A window that raises a
// dataset drift alarm is a false alarm. DAWN_FALSE_ALARMS_OUT, when set,
// names a file the per-resample verdicts are written to
// (bench/monitor/youtube_false_alarms.sh).
func TestYouTubeFalseAlarmRate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model and runs 100 profiles and checks")
	}
	_, shuffled, _ := youtubeShuffled(t)
	ctx := context.Background()
	dir := t.TempDir()
	trainRows, held := shuffled[:700], shuffled[700:]
	write := func(name string, rs [][]string) string { return writeYouTube(t, dir, name, rs) }
	mdir := trainYouTube(t, dir, trainRows)
	m, err := model.Load(mdir)
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) *explain.Frame {
		f, err := explain.ReadFrame(path, explain.ReadOptions{Kinds: map[string]explain.Kind{"CLASS": explain.String}})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var log strings.Builder
	log.WriteString("resample\tdataset_drift\tdrifted_columns\tcontent_auc\tauc_threshold\n")
	alarms := 0
	for r := range 100 {
		rr := rand.New(rand.NewPCG(100, uint64(r)))
		idx := rr.Perm(len(held))
		ref, win := make([][]string, 400), make([][]string, 200)
		for i := range ref {
			ref[i] = held[idx[i]]
		}
		for i := range win {
			win[i] = held[idx[400+i]]
		}
		p, err := BuildProfile(ctx, read(write("ref.csv", ref)), ProfileOptions{Model: m, Labels: "CLASS", Seed: uint64(r), Source: "ref.csv"})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Check(ctx, p, read(write("window.csv", win)), Options{Model: m, Labels: "CLASS", Seed: uint64(r)})
		if err != nil {
			t.Fatalf("resample %d: %v", r, err)
		}
		if rep.Drift.DatasetDrift {
			alarms++
		}
		auc, th := 0.0, 0.0
		var drifted []string
		for _, c := range rep.Drift.Columns {
			if c.Drift {
				drifted = append(drifted, c.Column)
			}
			if c.Text != nil {
				auc, th = c.Text.AUC, c.Text.Threshold
			}
		}
		log.WriteString(strings.Join([]string{strconv.Itoa(r), strconv.FormatBool(rep.Drift.DatasetDrift), strings.Join(drifted, ","),
			strconv.FormatFloat(auc, 'f', 4, 64), strconv.FormatFloat(th, 'f', 4, 64)}, "\t") + "\n")
	}
	t.Logf("false alarms: %d of 100 independent resamples (reference 400, window 200 rows)", alarms)
	if out := os.Getenv("DAWN_FALSE_ALARMS_OUT"); out != "" {
		log.WriteString("false_alarms\t" + strconv.Itoa(alarms) + " of 100\n")
		if err := os.WriteFile(out, []byte(log.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if alarms > falseAlarmLimit {
		t.Errorf("%d false alarms in 100 resampled in-distribution windows, want ≤ %d", alarms, falseAlarmLimit)
	}
}
