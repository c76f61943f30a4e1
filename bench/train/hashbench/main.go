// Command hashbench measures dawn's end-model training on hashed text
// features: HogWild! scaling (1 vs N workers), low-precision SGD, and
// (with -svm) writes the exact same features in svmlight format so that
// bench/train/sklearn_bench.py can train scikit-learn's LogisticRegression
// on them. The data are synthetic comments, generated deterministically:
// words from a Zipf vocabulary, a hidden per-word spam weight, labels drawn
// from the logistic of the row's score.
//
//	go run ./bench/train/hashbench -rows 1000000 -svm DIR
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dawn-ml/dawn/featurize"
	"github.com/dawn-ml/dawn/train"
)

type gen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	w     []float64
	vocab int
}

func newGen(seed uint64, vocab int) *gen {
	r := rand.New(rand.NewPCG(seed, 99))
	g := &gen{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(vocab-1)), vocab: vocab}
	// The weights come from their own stream so train and test share them.
	wr := rand.New(rand.NewPCG(7, 7))
	g.w = make([]float64, vocab)
	for i := range g.w {
		if wr.Float64() < 0.2 {
			g.w[i] = 2 * wr.NormFloat64()
		}
	}
	return g
}

// batch makes n rows of text and labels.
func (g *gen) batch(n int) (arrow.RecordBatch, []float64) {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	y := make([]float64, 0, 2*n)
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.Reset()
		words := 8 + g.r.IntN(16)
		var s float64
		for k := 0; k < words; k++ {
			v := int(g.zipf.Uint64())
			s += g.w[v]
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("w")
			b.WriteString(strconv.Itoa(v))
		}
		sb.Append(b.String())
		p := 1 / (1 + math.Exp(-s/math.Sqrt(float64(words))))
		if g.r.Float64() < p {
			y = append(y, 0, 1)
		} else {
			y = append(y, 1, 0)
		}
	}
	sch := arrow.NewSchema([]arrow.Field{{Name: "text", Type: arrow.BinaryTypes.String}}, nil)
	return array.NewRecordBatch(sch, []arrow.Array{sb.NewArray()}, int64(n)), y
}

func writeSVM(path string, ds *train.Dataset) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for i := 0; i < ds.X.Rows(); i++ {
		buf = buf[:0]
		if ds.Y[2*i+1] > 0.5 {
			buf = append(buf, '1')
		} else {
			buf = append(buf, '0')
		}
		idx, val := ds.X.Row(i)
		for n, j := range idx {
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(j)+1, 10) // svmlight is 1-based
			buf = append(buf, ':')
			buf = strconv.AppendFloat(buf, float64(val[n]), 'g', -1, 32)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func accuracy(m *train.Model, rec arrow.RecordBatch, y []float64) float64 {
	p, err := m.Predict(context.Background(), rec)
	if err != nil {
		panic(err)
	}
	right := 0
	for i, l := range p.Labels {
		if y[2*i+l] == 1 {
			right++
		}
	}
	return float64(right) / float64(len(p.Labels))
}

type result struct {
	Name      string  `json:"name"`
	Threads   int     `json:"threads"`
	Precision string  `json:"precision,omitempty"`
	Optimizer string  `json:"optimizer,omitempty"`
	Epochs    int     `json:"epochs"`
	Seconds   float64 `json:"train_seconds"`
	CPU       float64 `json:"train_cpu_seconds"`
	RowsPerS  float64 `json:"rows_per_second"`
	Objective float64 `json:"objective"`
	TestAcc   float64 `json:"test_accuracy"`
}

func main() {
	rows := flag.Int("rows", 1000000, "training rows")
	testRows := flag.Int("test", 100000, "test rows")
	epochs := flag.Int("epochs", 5, "SGD epochs")
	seed := flag.Uint64("seed", 1, "training seed (shuffling, initialization)")
	bits := flag.Int("bits", 18, "hash bits")
	svm := flag.String("svm", "", "directory to write train.svm/test.svm for scikit-learn (skipped when empty)")
	out := flag.String("json", "", "write the results as JSON to this file")
	lr := flag.Float64("lr", 0.1, "learning rate")
	schedule := flag.String("schedule", "inverse", "learning-rate schedule")
	optimizer := flag.String("optimizer", "sgd", "sgd or adagrad, for the configurations that do not name one")
	only := flag.String("only", "", "comma-separated configurations to run (default all): sgd, hogwild, hogwild-int16, hogwild-int8, sgd-int8")
	flag.Parse()

	g := newGen(1, 50000)
	t0 := time.Now()
	rec, y := g.batch(*rows)
	trec, ty := g.batch(*testRows)
	fmt.Printf("generated %d + %d rows in %.1fs\n", *rows, *testRows, time.Since(t0).Seconds())

	cfg := featurize.Config{Text: []featurize.Text{{Column: "text", Words: 1}}, Bits: *bits}
	t0 = time.Now()
	feat, err := featurize.Fit(cfg, []arrow.RecordBatch{rec})
	if err != nil {
		panic(err)
	}
	X := featurize.NewMatrix(feat.Dim())
	if err := feat.Transform(rec, X); err != nil {
		panic(err)
	}
	ft := time.Since(t0).Seconds()
	fmt.Printf("featurized %d rows (%d nonzeros) in %.2fs: %.0f rows/s\n", X.Rows(), len(X.Idx), ft, float64(X.Rows())/ft)
	ds := &train.Dataset{X: X, Y: y, C: 2}
	l2 := 1 / float64(*rows) // scikit-learn's C = 1
	if *svm != "" {
		tX := featurize.NewMatrix(feat.Dim())
		feat.Transform(trec, tX)
		os.MkdirAll(*svm, 0o755)
		if err := writeSVM(filepath.Join(*svm, "train.svm"), ds); err != nil {
			panic(err)
		}
		if err := writeSVM(filepath.Join(*svm, "test.svm"), &train.Dataset{X: tX, Y: ty, C: 2}); err != nil {
			panic(err)
		}
		fmt.Println("wrote svmlight files to", *svm)
	}
	var results []result
	cores := runtime.GOMAXPROCS(0)
	configs := []result{
		{Name: "sgd", Threads: 1}, {Name: "hogwild", Threads: cores},
		{Name: "adagrad-1epoch", Threads: 1, Optimizer: "adagrad", Epochs: 1}, {Name: "hogwild-adagrad-1epoch", Threads: cores, Optimizer: "adagrad", Epochs: 1},
		{Name: "hogwild-int16", Threads: cores, Precision: "int16"}, {Name: "hogwild-int8", Threads: cores, Precision: "int8"}, {Name: "sgd-int8", Threads: 1, Precision: "int8"},
	}
	for _, c := range configs {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), c.Name) {
			continue
		}
		if c.Optimizer == "" {
			c.Optimizer = *optimizer
		}
		if c.Epochs == 0 {
			c.Epochs = *epochs
		}
		sched := *schedule
		if c.Optimizer == "adagrad" {
			sched = "constant" // AdaGrad's rates already decay
		}
		if c.Optimizer != "sgd" && c.Precision != "" {
			continue
		}
		cpu0 := cpuSeconds()
		res, err := train.Fit(context.Background(), ds, train.Options{Model: train.LogReg, Epochs: c.Epochs, Threads: c.Threads, Seed: *seed, L2: l2, LR: *lr, Optimizer: c.Optimizer, Schedule: sched, Precision: c.Precision})
		if err != nil {
			panic(err)
		}
		c.CPU = cpuSeconds() - cpu0
		m := &train.Model{Kind: train.LogReg, Classes: []string{"0", "1"}, Feat: feat, Params: res.Params}
		var sgd float64
		for _, h := range res.History {
			sgd += h.Seconds
		}
		c.Seconds, c.RowsPerS, c.Objective, c.TestAcc = sgd, res.RowsPerS, res.Objective, accuracy(m, trec, ty)
		fmt.Printf("%-22s threads %2d epochs %d  %6.2fs wall (%6.2fs CPU)  %9.0f rows/s  objective %.5f  test acc %.4f\n", c.Name, c.Threads, c.Epochs, c.Seconds, c.CPU, c.RowsPerS, c.Objective, c.TestAcc)
		results = append(results, c)
	}
	if len(results) >= 2 && results[0].Name == "sgd" && results[1].Name == "hogwild" {
		fmt.Printf("HogWild! speed-up %d workers vs 1: %.2fx; objective ratio %.4f\n", cores, results[1].RowsPerS/results[0].RowsPerS, results[1].Objective/results[0].Objective)
	}
	if *out != "" {
		b, _ := json.MarshalIndent(map[string]any{"rows": *rows, "test_rows": *testRows, "epochs": *epochs, "bits": *bits, "featurize_seconds": ft, "results": results}, "", "  ")
		os.WriteFile(*out, b, 0o644)
	}
}

// cpuSeconds is the process's user+system CPU time: on a busy shared
// machine it measures the work done better than the wall clock.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
