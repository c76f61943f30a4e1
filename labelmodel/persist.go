package labelmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Format is the "format" field of a saved model.
const Format = "dawn-labelmodel"

// savedModel is the JSON form of every fitted model. Method-specific
// parameters are in the fields named for the method; shapes are checked by
// Load.
type savedModel struct {
	Format       string    `json:"format"`
	Version      int       `json:"version"`
	Method       string    `json:"method"`
	Classes      []string  `json:"classes"`
	LFs          []string  `json:"lfs"`
	ClassBalance []float64 `json:"class_balance"`
	LFAccuracies []float64 `json:"lf_accuracies,omitempty"` // majority: agreement with MV
	Rows         int       `json:"rows,omitempty"`          // rows fitted on

	// snorkel: coverage per LF and mu, (m·k) rows of k: mu[i·k+a][y] =
	// P(LF i votes a | Y = y).
	Coverage []float64   `json:"coverage,omitempty"`
	Mu       [][]float64 `json:"mu,omitempty"`
	// Fallback is "majority" when the fit contradicted an LF and the
	// model labels by majority vote (Options.NoFallback).
	Fallback string `json:"fallback,omitempty"`

	// dawid-skene: confusion[i][y][a] = P(LF i votes a | Y = y), a = k
	// meaning abstain.
	Confusion [][][]float64 `json:"confusion,omitempty"`

	// triplet: one binary problem per class (one in all for k = 2, class 1
	// positive): tables[c][i][t][v] = P(λ_i = v−1 | Y_c = 2t−1), for
	// v−1 ∈ {−1 (votes another class), 0 (abstains), +1 (votes c)}.
	Tables [][][][]float64 `json:"tables,omitempty"`
}

func saveModel(w io.Writer, s *savedModel) error {
	if s.LFs == nil {
		return fmt.Errorf("labelmodel: save %s: model is not fitted", s.Method)
	}
	s.Format, s.Version = Format, 1
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("labelmodel: save %s: %w", s.Method, err)
	}
	return nil
}

// Load reads a model written by Save. Every shape and probability is
// checked, so a loaded model can predict without further checks; a matrix
// with other LF names is refused at prediction time.
func Load(r io.Reader) (Model, error) {
	var s savedModel
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("labelmodel: load: %w", err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("labelmodel: load: data after the model object")
	}
	m, err := s.model()
	if err != nil {
		return nil, fmt.Errorf("labelmodel: load %s model: %w", s.Method, err)
	}
	return m, nil
}

func (s *savedModel) model() (Model, error) {
	if s.Format != Format || s.Version != 1 {
		return nil, fmt.Errorf("format %q version %d is not %q version 1", s.Format, s.Version, Format)
	}
	k, m := len(s.Classes), len(s.LFs)
	if k < 2 {
		return nil, fmt.Errorf("classes: %d, need at least 2", k)
	}
	if m == 0 {
		return nil, fmt.Errorf("lfs: none")
	}
	seen := map[string]bool{}
	for _, l := range s.LFs {
		if seen[l] {
			return nil, fmt.Errorf("lfs: %q appears twice", l)
		}
		seen[l] = true
	}
	if err := checkProbs("class_balance", s.ClassBalance, k, true); err != nil {
		return nil, err
	}
	if s.Fallback != "" && s.Method != Snorkel {
		return nil, fmt.Errorf("fallback is a snorkel field, not %s", s.Method)
	}
	h := header{lfs: s.LFs, classes: s.Classes}
	opt := Options{}.withDefaults()
	switch s.Method {
	case Majority:
		if err := checkProbs("lf_accuracies", s.LFAccuracies, m, false); err != nil {
			return nil, err
		}
		return &majorityModel{header: h, opt: opt, acc: s.LFAccuracies, balance: s.ClassBalance}, nil
	case Snorkel:
		if err := checkProbs("coverage", s.Coverage, m, false); err != nil {
			return nil, err
		}
		if len(s.Mu) != m*k {
			return nil, fmt.Errorf("mu: %d rows, want %d (LFs × classes)", len(s.Mu), m*k)
		}
		mu := make([]float64, 0, m*k*k)
		for a, row := range s.Mu {
			if err := checkProbs(fmt.Sprintf("mu[%d]", a), row, k, true); err != nil {
				return nil, err
			}
			mu = append(mu, row...)
		}
		switch s.Fallback {
		case "":
		case Majority:
			h.fallback = true
		default:
			return nil, fmt.Errorf("fallback %q is not %q", s.Fallback, Majority)
		}
		return &snorkelModel{header: h, opt: opt, mu: mu, p: s.ClassBalance, coverage: s.Coverage, n: s.Rows}, nil
	case DawidSkene:
		if len(s.Confusion) != m {
			return nil, fmt.Errorf("confusion: %d LFs, want %d", len(s.Confusion), m)
		}
		theta := make([]float64, 0, m*k*(k+1))
		for i, lf := range s.Confusion {
			if len(lf) != k {
				return nil, fmt.Errorf("confusion[%d]: %d classes, want %d", i, len(lf), k)
			}
			for y, row := range lf {
				if err := checkDist(fmt.Sprintf("confusion[%d][%d]", i, y), row, k+1); err != nil {
					return nil, err
				}
				theta = append(theta, row...)
			}
		}
		d := &dsModel{header: h, opt: opt, prior: s.ClassBalance, theta: theta}
		d.cache()
		return d, nil
	case Triplet:
		want := k
		if k == 2 {
			want = 1
		}
		if len(s.Tables) != want {
			return nil, fmt.Errorf("tables: %d binary problems, want %d", len(s.Tables), want)
		}
		tabs := make([][]binTable, want)
		for c, prob := range s.Tables {
			if len(prob) != m {
				return nil, fmt.Errorf("tables[%d]: %d LFs, want %d", c, len(prob), m)
			}
			tabs[c] = make([]binTable, m)
			for i, lf := range prob {
				if len(lf) != 2 {
					return nil, fmt.Errorf("tables[%d][%d]: %d rows, want 2", c, i, len(lf))
				}
				for t, row := range lf {
					if err := checkDist(fmt.Sprintf("tables[%d][%d][%d]", c, i, t), row, 3); err != nil {
						return nil, err
					}
					copy(tabs[c][i][t][:], row)
				}
			}
		}
		return &tripletModel{header: h, opt: opt, p: s.ClassBalance, tables: tabs}, nil
	}
	return nil, fmt.Errorf("unknown method %q", s.Method)
}

// checkProbs checks that v has n entries in [0, 1] (in (0, 1] if positive).
func checkProbs(name string, v []float64, n int, positive bool) error {
	if len(v) != n {
		return fmt.Errorf("%s: %d entries, want %d", name, len(v), n)
	}
	for j, x := range v {
		if math.IsNaN(x) || x < 0 || x > 1 || (positive && x == 0) {
			return fmt.Errorf("%s[%d]: %v is not a probability", name, j, x)
		}
	}
	return nil
}

// checkDist checks that v is a probability distribution over n outcomes.
func checkDist(name string, v []float64, n int) error {
	if err := checkProbs(name, v, n, false); err != nil {
		return err
	}
	var sum float64
	for _, x := range v {
		sum += x
	}
	if math.Abs(sum-1) > 1e-6 {
		return fmt.Errorf("%s: sums to %v, not 1", name, sum)
	}
	return nil
}
