package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dawn-ml/dawn/explain"
	"github.com/dawn-ml/dawn/model"
)

// Bounds of a profile (see the package doc).
const (
	SampleSize    = 10000
	MaxCategories = 1000
	MaxTokens     = 5000
	TextSample    = 1000
	RowSample     = 5000
)

// ProfileFile is the profile's name inside a model directory.
const ProfileFile = "monitor_profile.json"

// Kind is how a column is compared.
type Kind string

const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
	Text        Kind = "text"
)

// ColumnProfile summarises one reference column.
type ColumnProfile struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Count   int    `json:"count"`   // non-missing values
	Missing int    `json:"missing"` // missing values
	// Numeric: exact moments and range, and a uniform sample (sorted) of
	// at most SampleSize values; Distinct counts distinct values of the
	// column (capped at SampleSize+1).
	Distinct int       `json:"distinct"`
	Min      float64   `json:"min,omitempty"`
	Max      float64   `json:"max,omitempty"`
	Mean     float64   `json:"mean,omitempty"`
	Std      float64   `json:"std,omitempty"` // population std (ddof 0)
	Sample   []float64 `json:"sample,omitempty"`
	// Categorical: counts of the MaxCategories most frequent values, the
	// rest summed in Other.
	Categories map[string]int `json:"categories,omitempty"`
	Other      int            `json:"other,omitempty"`
	// Text: token document frequencies (the MaxTokens most frequent) and a
	// uniform sample of at most TextSample texts.
	Tokens map[string]int `json:"tokens,omitempty"`
	Texts  []string       `json:"texts,omitempty"`
}

// OutputProfile is the model's behaviour on the reference rows.
type OutputProfile struct {
	Classes []string `json:"classes"`
	// Predicted counts the predicted class of every reference row.
	Predicted map[string]int `json:"predicted"`
	// Confidence is a sorted sample of the top probability.
	Confidence []float64 `json:"confidence"`
	// Calibration maps confidence to the chance the prediction is right,
	// fitted on the reference rows with labels (nil without).
	Calibration *Calibration `json:"calibration,omitempty"`
	// Accuracy on the reference rows with labels.
	Accuracy *float64 `json:"accuracy,omitempty"`
	Labeled  int      `json:"labeled"`
}

// Profile is the reference a monitor compares windows with.
type Profile struct {
	Version int             `json:"version"`
	Created string          `json:"created"`
	Source  string          `json:"source,omitempty"`
	Rows    int             `json:"rows"`
	Columns []ColumnProfile `json:"columns"`
	// Rows is a uniform sample of the categorical columns' values, row by
	// row, for segment comparisons (current window against reference).
	RowColumns []string       `json:"row_columns,omitempty"`
	RowValues  [][]string     `json:"row_values,omitempty"`
	Output     *OutputProfile `json:"output,omitempty"`
}

// Column returns the named column's profile, or nil.
func (p *Profile) Column(name string) *ColumnProfile {
	for i := range p.Columns {
		if p.Columns[i].Name == name {
			return &p.Columns[i]
		}
	}
	return nil
}

// ProfileOptions say how to build a profile.
type ProfileOptions struct {
	// Model scores the rows for the output profile (nil: none).
	Model model.Model
	// Labels names the column of true classes (for the calibration map);
	// it is not profiled as an input.
	Labels string
	// Text names the columns to treat as free text; nil takes a model's
	// text features, else strings averaging five or more words.
	Text []string
	// Ignore names columns to leave out (ids, timestamps).
	Ignore []string
	Seed   uint64
	Source string
}

// BuildProfile profiles a reference frame.
func BuildProfile(ctx context.Context, f *explain.Frame, opt ProfileOptions) (*Profile, error) {
	if f.Rows == 0 {
		return nil, errors.New("monitor: profile: the reference data has no rows")
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x70f11e))
	p := &Profile{Version: 1, Created: time.Now().UTC().Format(time.RFC3339), Source: opt.Source, Rows: f.Rows}
	text := opt.Text
	if text == nil && opt.Model != nil {
		text = TextColumns(opt.Model)
	}
	sampleRows := sampleIndex(rng, f.Rows, RowSample)
	for _, c := range f.Cols {
		if strings.EqualFold(c.Name, opt.Labels) || contains(opt.Ignore, c.Name) {
			continue
		}
		var cp ColumnProfile
		switch {
		case c.Str == nil:
			cp = numericProfile(c.Name, c.Num, rng)
		case contains(text, c.Name) || (text == nil && looksLikeText(c.Str)):
			cp = textProfile(c.Name, c.Str, rng)
		default:
			cp = categoricalProfile(c.Name, c.Str)
			if isIdentifier(&cp) {
				continue
			}
			p.RowColumns = append(p.RowColumns, c.Name)
		}
		p.Columns = append(p.Columns, cp)
	}
	for _, i := range sampleRows {
		row := make([]string, len(p.RowColumns))
		for j, name := range p.RowColumns {
			c, _ := f.Col(name)
			row[j], _ = c.Str.Value(i)
		}
		p.RowValues = append(p.RowValues, row)
	}
	if opt.Model != nil && len(opt.Model.Info().Classes) > 0 {
		out, err := outputProfile(ctx, f, opt, rng)
		if err != nil {
			return nil, err
		}
		p.Output = out
	}
	return p, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// sampleIndex returns up to k row indices drawn uniformly without
// replacement from n, sorted.
func sampleIndex(rng *rand.Rand, n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := rng.Perm(n)[:k]
	sort.Ints(out)
	return out
}

func numericProfile(name string, xs []float64, rng *rand.Rand) ColumnProfile {
	cp := ColumnProfile{Name: name, Kind: Numeric, Min: math.Inf(1), Max: math.Inf(-1)}
	var vals []float64
	sum := 0.0
	for _, x := range xs {
		if math.IsNaN(x) {
			cp.Missing++
			continue
		}
		vals = append(vals, x)
		sum += x
		cp.Min = math.Min(cp.Min, x)
		cp.Max = math.Max(cp.Max, x)
	}
	cp.Count = len(vals)
	if cp.Count == 0 {
		cp.Min, cp.Max = 0, 0
		return cp
	}
	cp.Mean = sum / float64(cp.Count)
	ss := 0.0
	for _, x := range vals {
		ss += (x - cp.Mean) * (x - cp.Mean)
	}
	cp.Std = math.Sqrt(ss / float64(cp.Count))
	if len(vals) > SampleSize {
		idx := sampleIndex(rng, len(vals), SampleSize)
		s := make([]float64, len(idx))
		for i, j := range idx {
			s[i] = vals[j]
		}
		vals = s
	} else {
		vals = slices.Clone(vals)
	}
	sort.Float64s(vals)
	cp.Sample = vals
	cp.Distinct = len(slices.Compact(slices.Clone(vals)))
	return cp
}

func categoricalProfile(name string, c *explain.Column) ColumnProfile {
	cp := ColumnProfile{Name: name, Kind: Categorical}
	counts := make([]int, len(c.Dict))
	for _, k := range c.Codes {
		if k < 0 {
			cp.Missing++
			continue
		}
		counts[k]++
		cp.Count++
	}
	order := make([]int, 0, len(counts))
	for k, n := range counts {
		if n > 0 {
			order = append(order, k)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(c.Dict[a], c.Dict[b]))
	})
	cp.Distinct = len(order)
	cp.Categories = map[string]int{}
	for i, k := range order {
		if i < MaxCategories {
			cp.Categories[c.Dict[k]] = counts[k]
		} else {
			cp.Other += counts[k]
		}
	}
	return cp
}

func textProfile(name string, c *explain.Column, rng *rand.Rand) ColumnProfile {
	cp := ColumnProfile{Name: name, Kind: Text}
	df := map[string]int{}
	var texts []string
	for i := range c.Codes {
		s, ok := c.Value(i)
		if !ok {
			cp.Missing++
			continue
		}
		cp.Count++
		texts = append(texts, s)
		for _, t := range uniqueTokens(s) {
			df[t]++
		}
	}
	cp.Tokens = topTokens(df, MaxTokens)
	for _, i := range sampleIndex(rng, len(texts), TextSample) {
		cp.Texts = append(cp.Texts, texts[i])
	}
	return cp
}

func topTokens(df map[string]int, k int) map[string]int {
	if len(df) <= k {
		return df
	}
	keys := make([]string, 0, len(df))
	for t := range df {
		keys = append(keys, t)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(df[b], df[a]), cmp.Compare(a, b)) })
	out := make(map[string]int, k)
	for _, t := range keys[:k] {
		out[t] = df[t]
	}
	return out
}

// uniqueTokens splits lower-cased text into distinct words of letters and
// digits.
func uniqueTokens(s string) []string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && r != 0xa0)
	})
	slices.Sort(f)
	return slices.Compact(f)
}

// isIdentifier reports a string column whose values are mostly unique
// (ids, timestamps, names): every window would bring new values, so it is
// neither drift-checked nor a segment attribute.
func isIdentifier(cp *ColumnProfile) bool {
	return cp.Count > 20 && float64(cp.Distinct) > 0.5*float64(cp.Count)
}

// looksLikeText is the fallback rule for a string column: free text when
// its values average five words or more.
func looksLikeText(c *explain.Column) bool {
	if len(c.Dict) == 0 {
		return false
	}
	words := 0
	for _, d := range c.Dict {
		words += len(strings.Fields(d))
	}
	return float64(words)/float64(len(c.Dict)) >= 5
}

// Save writes the profile into dir as ProfileFile (temp file + rename).
func (p *Profile) Save(dir string) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("monitor: save profile: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+ProfileFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("monitor: save profile: %w", err)
	}
	_, werr := tmp.Write(b)
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("monitor: save profile %s: %w", dir, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ProfileFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("monitor: save profile %s: %w", dir, err)
	}
	return nil
}

// ErrNoProfile reports a model directory without a profile.
var ErrNoProfile = errors.New("no monitoring profile")

// LoadProfile reads dir's profile.
func LoadProfile(dir string) (*Profile, error) {
	b, err := os.ReadFile(filepath.Join(dir, ProfileFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("monitor: %s: %w (build one with `dawn monitor profile --model %s --data ref.csv`)", dir, ErrNoProfile, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("monitor: %s: %w", filepath.Join(dir, ProfileFile), err)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("monitor: %s: %w", filepath.Join(dir, ProfileFile), err)
	}
	return &p, nil
}

// validate checks what Check relies on, so a damaged or hand-edited
// profile is an error naming the field rather than a crash.
func (p *Profile) validate() error {
	if p.Version != 1 {
		return fmt.Errorf("profile version %d, want 1", p.Version)
	}
	for i, c := range p.Columns {
		switch c.Kind {
		case Numeric, Categorical, Text:
		default:
			return fmt.Errorf("columns[%d] (%s): kind %q", i, c.Name, c.Kind)
		}
		if c.Count < 0 || c.Missing < 0 || c.Other < 0 {
			return fmt.Errorf("columns[%d] (%s): negative count", i, c.Name)
		}
		if !sort.Float64sAreSorted(c.Sample) || slices.ContainsFunc(c.Sample, math.IsNaN) {
			return fmt.Errorf("columns[%d] (%s): sample not sorted or holds NaN", i, c.Name)
		}
		for k, n := range c.Categories {
			if n < 0 {
				return fmt.Errorf("columns[%d] (%s): category %q has count %d", i, c.Name, k, n)
			}
		}
	}
	for i, row := range p.RowValues {
		if len(row) != len(p.RowColumns) {
			return fmt.Errorf("row_values[%d] has %d values for %d row_columns", i, len(row), len(p.RowColumns))
		}
	}
	if o := p.Output; o != nil {
		if !sort.Float64sAreSorted(o.Confidence) {
			return fmt.Errorf("output.confidence not sorted")
		}
		if c := o.Calibration; c != nil && (len(c.X) == 0 || len(c.X) != len(c.Y) || !sort.Float64sAreSorted(c.X)) {
			return fmt.Errorf("output.calibration: x and y must be non-empty, of equal length, x ascending")
		}
	}
	return nil
}

// WriteProfile profiles the reference file path for the model saved in dir
// and writes the profile beside it: the one call training makes.
func WriteProfile(ctx context.Context, dir, path, labels string) error {
	m, err := model.Load(dir)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	f, err := explain.ReadFrame(path, explain.ReadOptions{})
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if labels != "" {
		if _, err := f.Col(labels); err != nil {
			labels = "" // the reference file has no labels: no calibration map
		}
	}
	p, err := BuildProfile(ctx, f, ProfileOptions{Model: m, Labels: labels, Source: filepath.Base(path)})
	if err != nil {
		return err
	}
	return p.Save(dir)
}
