// Command explainbench measures dawn's DIFF (MacroBase's APriori explainer)
// on synthetic data: order 3 over five low-cardinality string attributes,
// read from Parquet. It writes the data itself (nothing is fetched), then
// reports the explanation step's rows/s on one core and on all cores, and
// the end-to-end rows/s including reading, dictionary encoding and
// classification.
//
//	go run ./bench/explain -rows 20000000
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/explain/stream"
)

var attrs = []string{"country", "device", "version", "carrier", "region"}
var cards = []int{12, 8, 20, 6, 40}

func main() {
	rows := flag.Int("rows", 20_000_000, "rows to generate")
	dir := flag.String("dir", os.TempDir(), "where the Parquet file goes")
	keep := flag.Bool("keep", false, "keep the generated file")
	reps := flag.Int("reps", 3, "repetitions of each measurement (best is reported)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	cardFlag := flag.String("cards", "12,8,20,6,40", "cardinalities of the five attributes")
	streamRows := flag.Int("stream", 0, "instead: stream this many generated rows through the streaming explainer and report rows/s and peak memory")
	flag.Parse()
	if cs := strings.Split(*cardFlag, ","); len(cs) == len(attrs) {
		for i, c := range cs {
			if _, err := fmt.Sscan(c, &cards[i]); err != nil || cards[i] < 1 {
				log.Fatalf("-cards %q: want five positive integers", *cardFlag)
			}
		}
	} else {
		log.Fatalf("-cards %q: want five positive integers", *cardFlag)
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	if *streamRows > 0 {
		benchStream(*streamRows)
		return
	}
	path := filepath.Join(*dir, fmt.Sprintf("explainbench-%d-%s.parquet", *rows, strings.ReplaceAll(*cardFlag, ",", "-")))
	if _, err := os.Stat(path); err != nil {
		t0 := time.Now()
		if err := generate(path, *rows); err != nil {
			log.Fatal(err)
		}
		log.Printf("generated %s in %v", path, time.Since(t0).Round(time.Millisecond))
	}
	if !*keep {
		defer os.Remove(path)
	}
	opt := explain.Options{MinSupport: 0.01, MinRatio: 1.5, Metric: explain.GlobalRatio, MaxOrder: 3}
	best := func(f func() time.Duration) time.Duration {
		b := time.Duration(1 << 62)
		for i := 0; i < *reps; i++ {
			b = min(b, f())
		}
		return b
	}
	var fr *explain.Frame
	var flags []bool
	var cols []*explain.Column
	var res *explain.Result
	endToEnd := best(func() time.Duration {
		fr, flags, cols, res = nil, nil, nil, nil
		runtime.GC()
		t0 := time.Now()
		var err error
		fr, err = explain.ReadFrame(path, explain.ReadOptions{Columns: append(append([]string{}, attrs...), "usage")})
		if err != nil {
			log.Fatal(err)
		}
		flags, err = explain.ClassifierSpec{Predicate: "usage > 1000"}.Classify(fr)
		if err != nil {
			log.Fatal(err)
		}
		cols = cols[:0]
		for _, a := range attrs {
			c, err := fr.Strings(a)
			if err != nil {
				log.Fatal(err)
			}
			cols = append(cols, c)
		}
		res, err = explain.APriori(cols, explain.Labels{Outlier: flags}, opt)
		if err != nil {
			log.Fatal(err)
		}
		return time.Since(t0)
	})
	step := func(workers int) time.Duration {
		o := opt
		o.Workers = workers
		return best(func() time.Duration {
			t0 := time.Now()
			if _, err := explain.APriori(cols, explain.Labels{Outlier: flags}, o); err != nil {
				log.Fatal(err)
			}
			return time.Since(t0)
		})
	}
	one, all := step(1), step(0)
	n := float64(*rows)
	fmt.Printf("rows: %d, attributes: %d (cardinalities %v), outliers: %v, explanations: %d\n", *rows, len(attrs), cards, res.Outliers, len(res.Explanations))
	for _, e := range res.Explanations {
		if e.Order > 1 {
			fmt.Printf("  e.g. %s: support %.3f, global ratio %.2f\n", explain.Describe(res, e), e.Support, e.Ratio)
			break
		}
	}
	fmt.Printf("explanation step, 1 core:      %7.3f s  %6.1f M rows/s per core\n", one.Seconds(), n/one.Seconds()/1e6)
	fmt.Printf("explanation step, %d cores:     %7.3f s  %6.1f M rows/s\n", runtime.GOMAXPROCS(0), all.Seconds(), n/all.Seconds()/1e6)
	fmt.Printf("end to end (read Parquet, encode, classify, explain): %.3f s  %.1f M rows/s\n", endToEnd.Seconds(), n/endToEnd.Seconds()/1e6)
}

// benchStream pushes generated rows (five attributes, one of them a
// high-cardinality id so the counters must evict) through the streaming
// explainer and reports throughput and the peak resident memory.
func benchStream(rows int) {
	x, err := stream.New(stream.Config{Attrs: append(append([]string{}, attrs[:4]...), "user"), Cutoff: 1, High: true,
		DecayRate: 0.01, DecayEvery: 100000, Period: 1000000,
		Options: explain.Options{MinSupport: 0.2, MinRatio: 3, Metric: explain.GlobalRatio, MaxOrder: 3}})
	if err != nil {
		log.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 1))
	dicts := make([][]string, 4)
	for i := range dicts {
		for v := 0; v < cards[i]; v++ {
			dicts[i] = append(dicts[i], fmt.Sprintf("%c%d", attrs[i][0], v))
		}
	}
	users := make([]string, 1<<20)
	for i := range users {
		users[i] = fmt.Sprintf("u%d", i)
	}
	vals := make([]string, 5)
	t0 := time.Now()
	emitted := 0
	for r := 0; r < rows; r++ {
		for i := 0; i < 4; i++ {
			vals[i] = dicts[i][rnd.IntN(cards[i])]
		}
		vals[4] = users[rnd.IntN(len(users))]
		m := 100 + 10*rnd.NormFloat64()
		if vals[0] == "c3" && vals[1] == "d5" && rnd.IntN(2) == 0 {
			m += 100
		}
		if x.Observe(vals, m) != nil {
			emitted++
		}
		if (r+1)%10_000_000 == 0 {
			o, in := x.Sketches()
			log.Printf("%d rows, %.2f M rows/s, counters %d/%d items, peak RSS %s", r+1, float64(r+1)/time.Since(t0).Seconds()/1e6, o.Len(), in.Len(), peakRSS())
		}
	}
	el := time.Since(t0)
	fmt.Printf("stream: %d rows in %.1f s, %.2f M rows/s (one goroutine), %d emissions, peak RSS %s\n", rows, el.Seconds(), float64(rows)/el.Seconds()/1e6, emitted, peakRSS())
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

// generate writes rows of five string attributes and a usage metric; the
// segment country=c3, device=d5, version=v7 runs hot half the time, other
// rows 1% of the time.
func generate(path string, rows int) error {
	fields := make([]arrow.Field, 0, len(attrs)+1)
	for _, a := range attrs {
		fields = append(fields, arrow.Field{Name: a, Type: arrow.BinaryTypes.String})
	}
	fields = append(fields, arrow.Field{Name: "usage", Type: arrow.PrimitiveTypes.Float64})
	schema := arrow.NewSchema(fields, nil)
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithMaxRowGroupLength(1<<20))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	dicts := make([][]string, len(attrs))
	for i, k := range cards {
		for v := 0; v < k; v++ {
			dicts[i] = append(dicts[i], fmt.Sprintf("%c%d", attrs[i][0], v))
		}
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	const batch = 1 << 20
	codes := make([]int, len(attrs))
	for done := 0; done < rows; done += batch {
		n := min(batch, rows-done)
		for r := 0; r < n; r++ {
			for i, k := range cards {
				codes[i] = rnd.IntN(k)
				b.Field(i).(*array.StringBuilder).Append(dicts[i][codes[i]])
			}
			p := 0.01
			if codes[0] == 3 && codes[1] == 5 && codes[2] == 7 {
				p = 0.5
			}
			usage := 100 + 50*rnd.NormFloat64()
			if rnd.Float64() < p {
				usage = 1500 + 100*rnd.Float64()
			}
			b.Field(len(attrs)).(*array.Float64Builder).Append(usage)
		}
		rec := b.NewRecordBatch()
		err := w.WriteBuffered(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}
