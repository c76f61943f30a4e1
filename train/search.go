package train

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dawn-ml/dawn/featurize"
)

// Search asks Run to choose the featurization of the text columns and the
// L2 penalty by validation instead of taking them from the Spec. The grid
// (SearchGrid) is small and fixed; each candidate is scored on the
// validation file when the Spec has one, else on a held-out part of the
// training rows (never on test data: Run sees none).
type Search struct {
	Features bool // try the SearchGrid featurizations of the text columns
	L2       bool // try SearchL2
	// MaxRows bounds the rows each candidate is trained on (default
	// DefaultSearchRows): larger data is sampled, in blocks of 256 rows,
	// for the search only; the chosen setting is then fitted on all rows.
	MaxRows int
	// HoldOut is the fraction of the training rows held out to score the
	// candidates when the Spec has no validation file (default 0.2;
	// ValidFrac when given). With fewer than 20 training rows and no
	// validation file there is no search.
	HoldOut float64
	// Progress, when set, is called after each candidate's fit.
	Progress func()
}

// minSearchRows is the fewest training rows a search holds rows out of;
// with fewer (and no validation file) the defaults are used as they are.
const minSearchRows = 20

// DefaultSearchRows is the default bound on the rows a search candidate
// trains on (and, separately, is validated on).
const DefaultSearchRows = 20000

// TextSetting is one featurization of the search grid, applied to every
// text column.
type TextSetting struct {
	Name             string
	Words            int
	CharMin, CharMax int
	TFIDF            bool
	// LR is the SGD learning rate used with it: TF-IDF rows have unit
	// norm, so their gradients are small and a larger step is needed to
	// converge within the default epochs.
	LR float64
}

// SearchGrid is the featurizations a search tries: the former default
// (word 1–2-gram counts), the same with TF-IDF, and word unigrams with
// character 2–5-grams under TF-IDF (scikit-learn's strongest simple text
// baseline).
var SearchGrid = []TextSetting{
	{Name: "words 1-2, counts", Words: 2, LR: 0.1},
	{Name: "words 1-2, tf-idf", Words: 2, TFIDF: true, LR: 0.5},
	{Name: "words 1 + chars 2-5, tf-idf", Words: 1, CharMin: 2, CharMax: 5, TFIDF: true, LR: 0.5},
}

// SearchL2 is the L2 penalties a search tries (on the mean loss; l2 =
// 1/(C·n) in scikit-learn's terms).
var SearchL2 = []float64{1e-3, 1e-4, 1e-5}

// Candidate is one scored setting of a search.
type Candidate struct {
	Features  string  `json:"features"`
	L2        float64 `json:"l2"`
	LR        float64 `json:"lr,omitempty"`
	ValidAcc  float64 `json:"valid_accuracy,omitempty"`
	ValidLoss float64 `json:"valid_loss"`
	Epochs    int     `json:"best_epoch"`
}

// SearchReport says what a search tried and chose.
type SearchReport struct {
	// Validation names the rows the candidates were scored on.
	Validation string      `json:"validation"`
	TrainRows  int         `json:"train_rows"`
	ValidRows  int         `json:"valid_rows"`
	Candidates []Candidate `json:"candidates"`
	Chosen     Candidate   `json:"chosen"`
}

// better orders candidates: higher validation accuracy (classifiers), then
// lower validation loss; a tie keeps the earlier (simpler) one.
func (c Candidate) better(than Candidate, classifier bool) bool {
	if classifier && c.ValidAcc != than.ValidAcc {
		return c.ValidAcc > than.ValidAcc
	}
	return c.ValidLoss < than.ValidLoss
}

// sampleBlocks returns record slices covering at most limit rows of recs,
// chosen as random blocks of 256 rows (all of recs when it is small), and
// the global row numbers they hold, in order.
func sampleBlocks(recs []arrow.RecordBatch, limit int, seed uint64) ([]arrow.RecordBatch, []int) {
	const block = 256
	type blk struct{ rec, off, n, row int }
	var blocks []blk
	row := 0
	for i, r := range recs {
		for off := 0; off < int(r.NumRows()); off += block {
			n := min(block, int(r.NumRows())-off)
			blocks = append(blocks, blk{i, off, n, row})
			row += n
		}
	}
	if row > limit {
		rng := rand.New(rand.NewPCG(seed, 0x5ea4c4))
		rng.Shuffle(len(blocks), func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
		total, k := 0, 0
		for k < len(blocks) && total+blocks[k].n <= limit {
			total += blocks[k].n
			k++
		}
		blocks = blocks[:max(k, 1)]
		slices.SortFunc(blocks, func(a, b blk) int { return a.row - b.row })
	}
	var out []arrow.RecordBatch
	var rows []int
	for _, b := range blocks {
		out = append(out, recs[b.rec].NewSlice(int64(b.off), int64(b.off+b.n)))
		for r := 0; r < b.n; r++ {
			rows = append(rows, b.row+r)
		}
	}
	return out, rows
}

// textConfig applies a grid setting to every text column of base.
func textConfig(base featurize.Config, t TextSetting) featurize.Config {
	cfg := base
	cfg.Text = make([]featurize.Text, len(base.Text))
	for i, c := range base.Text {
		cfg.Text[i] = featurize.Text{Column: c.Column, Words: t.Words, CharMin: t.CharMin, CharMax: t.CharMax, Lower: c.Lower, TFIDF: t.TFIDF}
	}
	return cfg
}

func transform(f *featurize.Featurizer, recs []arrow.RecordBatch, file string) (*featurize.Matrix, error) {
	X := featurize.NewMatrix(f.Dim())
	for _, rec := range recs {
		if err := f.Transform(rec, X); err != nil {
			return nil, fmt.Errorf("train: %s: %w", file, err)
		}
	}
	return X, nil
}

// search scores the grid and returns the chosen featurizer config, the
// options to fit with, and the report. recs/tg are the training data;
// validRecs/validY the validation file's rows and one-hot gold targets
// (nil without a validation file).
func search(ctx context.Context, s Spec, recs []arrow.RecordBatch, tg *targets, opt Options, valid *validData) (featurize.Config, Options, *SearchReport, error) {
	sr := s.Search
	if sr.MaxRows <= 0 {
		sr.MaxRows = DefaultSearchRows
	}
	if sr.HoldOut <= 0 || sr.HoldOut >= 1 {
		sr.HoldOut = 0.2
	}
	rep := &SearchReport{}
	trRecs, trRows := sampleBlocks(recs, sr.MaxRows, opt.Seed)
	defer release(trRecs)
	keep := make(map[int]bool, len(tg.keep))
	for _, r := range tg.keep {
		keep[r] = true
	}
	var local []int // sampled rows kept for training, as positions in trRows
	for i, r := range trRows {
		if keep[r] {
			local = append(local, i)
		}
	}
	sub := &Dataset{C: tg.c}
	for _, i := range local {
		sub.Y = append(sub.Y, tg.y[trRows[i]*tg.c:trRows[i]*tg.c+tg.c]...)
		if tg.w != nil {
			sub.Weight = append(sub.Weight, tg.w[trRows[i]])
		}
	}
	var fitRows, validRows []int // positions in local
	var vRecs []arrow.RecordBatch
	var vY []float64
	if valid != nil {
		var vrows []int
		vRecs, vrows = sampleBlocks(valid.recs, sr.MaxRows, opt.Seed+1)
		defer release(vRecs)
		for _, r := range vrows {
			vY = append(vY, valid.y[r*valid.c:r*valid.c+valid.c]...)
		}
		fitRows = make([]int, len(local))
		for i := range fitRows {
			fitRows[i] = i
		}
		rep.Validation = "the validation file " + s.Valid
		rep.ValidRows = len(vrows)
	} else if len(local) < minSearchRows {
		return s.Features, opt, nil, nil // too few rows to hold any out: the defaults
	} else {
		frac := sr.HoldOut
		if s.ValidFrac > 0 {
			frac = s.ValidFrac
		}
		perm := rand.New(rand.NewPCG(opt.Seed, 78)).Perm(len(local))
		nv := int(math.Round(frac * float64(len(local))))
		if nv < 1 || nv >= len(local) {
			return featurize.Config{}, opt, nil, fmt.Errorf("train: %d training rows are too few to hold out %.0f %% for the search; give --valid or name the features", len(local), 100*frac)
		}
		validRows, fitRows = perm[:nv], perm[nv:]
		slices.Sort(validRows)
		slices.Sort(fitRows)
		rep.Validation = fmt.Sprintf("%.0f %% of the training rows, held out (seed %d)", 100*frac, opt.Seed)
		if len(trRows) < tg.rows() {
			rep.Validation = fmt.Sprintf("%.0f %% of a %d-row sample of the training rows, held out (seed %d)", 100*frac, len(trRows), opt.Seed)
		}
		rep.ValidRows = nv
	}
	rep.TrainRows = len(fitRows)
	grid := []TextSetting{{Name: "as given"}}
	if sr.Features && len(s.Features.Text) > 0 {
		grid = SearchGrid
	}
	l2s := []float64{opt.L2}
	if sr.L2 {
		l2s = SearchL2
	}
	classifier := opt.Model.Classifier()
	var best Candidate
	bestIdx := -1
	for gi, g := range grid {
		cfg := s.Features
		if g.Name != "as given" {
			cfg = textConfig(s.Features, g)
		}
		feat, err := featurize.Fit(cfg, trRecs)
		if err != nil {
			return featurize.Config{}, opt, nil, fmt.Errorf("train: %s: %w", s.Data, err)
		}
		X, err := transform(feat, trRecs, s.Data)
		if err != nil {
			return featurize.Config{}, opt, nil, err
		}
		d := *sub
		d.X = X.Subset(local)
		fitDS := d.Subset(fitRows)
		var vds *Dataset
		if valid != nil {
			vX, err := transform(feat, vRecs, s.Valid)
			if err != nil {
				return featurize.Config{}, opt, nil, err
			}
			vds = &Dataset{X: vX, Y: vY, C: valid.c}
		} else {
			vds = d.Subset(validRows)
		}
		for _, l2 := range l2s {
			if err := ctx.Err(); err != nil {
				return featurize.Config{}, opt, nil, err
			}
			o := opt
			o.L2, o.Valid, o.Progress = l2, vds, nil
			if g.LR > 0 && opt.LR <= 0 {
				o.LR = g.LR
			}
			res, err := Fit(ctx, fitDS, o)
			if err != nil {
				return featurize.Config{}, opt, nil, err
			}
			c := Candidate{Features: g.Name, L2: l2, ValidLoss: res.ValidLoss, Epochs: res.BestEpoch}
			if o.Optimizer != "lbfgs" {
				c.LR = o.LR
				if o.LR <= 0 {
					c.LR = defaultLR(o.Model)
				}
			}
			if classifier {
				c.ValidAcc = accuracy(res.Params, vds)
			}
			rep.Candidates = append(rep.Candidates, c)
			if sr.Progress != nil {
				sr.Progress()
			}
			if bestIdx < 0 || c.better(best, classifier) {
				best, bestIdx = c, gi
			}
		}
	}
	rep.Chosen = best
	cfg := s.Features
	if g := grid[bestIdx]; g.Name != "as given" {
		cfg = textConfig(s.Features, g)
	}
	opt.L2 = best.L2
	if best.LR > 0 {
		opt.LR = best.LR
	}
	return cfg, opt, rep, nil
}

func defaultLR(k Kind) float64 {
	if k == LinReg {
		return 0.01
	}
	return 0.1
}

// rows is the number of data rows the targets describe.
func (t *targets) rows() int { return len(t.y) / max(t.c, 1) }

// validData is a validation file read once: its records and one-hot gold
// targets (c per row).
type validData struct {
	recs []arrow.RecordBatch
	y    []float64
	c    int
}

// featureParams describes the text featurization for a tracking run.
func featureParams(cfg featurize.Config) map[string]string {
	p := map[string]string{"bits": strconv.Itoa(cmp.Or(cfg.Bits, featurize.DefaultBits))}
	var words, chars, tfidf []string
	for _, t := range cfg.Text {
		words = append(words, strconv.Itoa(t.Words))
		ch := ""
		if t.CharMax > 0 {
			ch = fmt.Sprintf("%d-%d", t.CharMin, t.CharMax)
		}
		chars = append(chars, ch)
		tfidf = append(tfidf, strconv.FormatBool(t.TFIDF))
	}
	if len(cfg.Text) > 0 {
		p["ngrams"], p["char_ngrams"], p["tfidf"] = strings.Join(words, ","), strings.Join(chars, ","), strings.Join(tfidf, ",")
	}
	return p
}
