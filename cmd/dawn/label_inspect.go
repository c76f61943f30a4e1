package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/internal/suggest"
	"github.com/dawn-ml/dawn/label"
	"github.com/dawn-ml/dawn/labeling"
	"github.com/dawn-ml/dawn/labelmodel"
)

// inspectedRow is one row `dawn label inspect` prints.
type inspectedRow struct {
	Row   int                `json:"row"` // 1-based data row, as in error messages
	Vote  string             `json:"vote,omitempty"`
	Gold  string             `json:"gold,omitempty"`
	Votes map[string]string  `json:"votes"`
	Probs map[string]float64 `json:"probs,omitempty"`
	Text  string             `json:"text,omitempty"`
}

func labelInspect(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label inspect", `Usage: dawn label inspect --lfs lfs.yaml --data FILE [--gold COLUMN] --lf NAME
                          --show fires|wrong|conflicts|abstains|uncovered|uncertain [--limit 20] [--json]

Prints the rows behind the LF statistics, to see what an LF gets wrong and
what no LF covers yet: the rows it votes on (fires), votes on against the
gold label (wrong, needs --gold), votes on while another LF votes otherwise
(conflicts), does not vote on (abstains); the rows no LF votes on
(uncovered, no --lf needed); or the rows the label model is least sure of
(uncertain, least sure first; the model is --model or, by default, the
Snorkel label model fitted on --data). Each row shows its 1-based row
number, the LF's vote, the gold label, every LF's vote and the text the LF
reads (--text COLUMN to show another column).

Example:
  dawn label inspect --lfs lfs.yaml --data dev.csv --gold Label --lf free --show wrong --limit 10`)
	lfs := fs.String("lfs", "", "the labeling-function YAML file (required)")
	dataPath := fs.String("data", "", "the data to inspect (required)")
	gold := fs.String("gold", "", "the gold-label column of --data (class names or ids)")
	lfName := fs.String("lf", "", "the LF to inspect (required except for --show uncovered and uncertain)")
	show := fs.String("show", "", "which rows: "+strings.Join(label.Shows, ", ")+" (required)")
	limit := fs.Int("limit", 20, "print at most this many rows (0: all)")
	textCol := fs.String("text", "", "the column to print (default: the LF's field, else the file's text)")
	modelPath := fs.String("model", "", "for --show uncertain: a label model from 'dawn label fit' (default: fit snorkel on --data)")
	asJSON := fs.Bool("json", false, "print JSON on stdout")
	df := addDataFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(map[string]string{"--lfs": *lfs, "--data": *dataPath, "--show": *show}); err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("label inspect: --limit %d is negative", *limit)
	}
	f, err := label.LoadFile(*lfs)
	if err != nil {
		return err
	}
	names := make([]string, len(f.LFs))
	lf := -1
	for i, s := range f.LFs {
		names[i] = s.Name
		if s.Name == *lfName {
			lf = i
		}
	}
	if *lfName != "" && lf < 0 {
		return usagef("label inspect: %s has no LF %q%s (LFs: %s)", *lfs, *lfName, suggest.Hint(*lfName, names), strings.Join(names, ", "))
	}
	needLF := *show != label.ShowUncovered && *show != label.ShowUncertain
	switch {
	case !slices.Contains(label.Shows, *show):
		return usagef("label inspect: --show %q is not one of %s%s", *show, strings.Join(label.Shows, ", "), suggest.Hint(*show, label.Shows))
	case needLF && lf < 0:
		return usagef("label inspect: --show %s needs --lf NAME (LFs: %s)", *show, strings.Join(names, ", "))
	case *show == label.ShowWrong && *gold == "":
		return usagef("label inspect: --show wrong needs --gold COLUMN")
	}
	if *gold != "" {
		if err := checkGoldColumn(*dataPath, *gold, df); err != nil {
			return err
		}
	}
	x, _, _, err := applyLFs(ctx, e, *lfs, *dataPath, df, 0)
	if err != nil {
		return err
	}
	spec := label.InspectSpec{Show: *show, LF: lf}
	if *gold != "" {
		if spec.Gold, err = readGold(*dataPath, *gold, f.Labels, df); err != nil {
			return err
		}
	}
	if *show == label.ShowUncertain {
		var lm labelmodel.Model
		if *modelPath != "" {
			if lm, err = labeling.LoadModel(*modelPath); err != nil {
				return err
			}
		}
		fitted := lm == nil
		if spec.Probs, lm, err = labeling.Probabilities(ctx, x, lm); err != nil {
			return err
		}
		if fitted {
			warnModel(e, lm)
		}
	}
	rows, err := label.Inspect(x, spec)
	if err != nil {
		return err
	}
	shown := rows
	if *limit > 0 && len(shown) > *limit {
		shown = shown[:*limit]
	}
	col := *textCol
	if col == "" && lf >= 0 {
		col = f.LFs[lf].Field
	}
	if col == "" {
		col = f.Text
	}
	var texts []string
	if col != "" {
		if texts, err = readColumn(*dataPath, col, df, nil); err != nil {
			return err
		}
	}
	out := make([]inspectedRow, len(shown))
	k := x.K()
	for j, i := range shown {
		r := inspectedRow{Row: i + 1, Votes: map[string]string{}}
		if lf >= 0 {
			if v := x.At(i, lf); v != label.Abstain {
				r.Vote = f.Labels[v]
			}
		}
		if spec.Gold != nil && spec.Gold[i] >= 0 {
			r.Gold = f.Labels[spec.Gold[i]]
		}
		ls, vs := x.Row(i)
		for q, l := range ls {
			r.Votes[x.LFs[l]] = f.Labels[vs[q]]
		}
		if spec.Probs != nil {
			r.Probs = map[string]float64{}
			for c := 0; c < k; c++ {
				r.Probs[f.Labels[c]] = spec.Probs[i*k+c]
			}
		}
		if texts != nil {
			r.Text = texts[i]
		}
		out[j] = r
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]any{"show": *show, "lf": *lfName, "matched": len(rows), "total": x.N, "rows": out})
	}
	what := *show
	if lf >= 0 {
		what = fmt.Sprintf("%s %s", *lfName, *show)
	}
	fmt.Fprintf(e.stdout, "%s: %d of %d rows", what, len(rows), x.N)
	if len(shown) < len(rows) {
		fmt.Fprintf(e.stdout, "; the first %d (--limit)", len(shown))
	}
	fmt.Fprintln(e.stdout)
	for _, r := range out {
		fmt.Fprintf(e.stdout, "\nrow %d", r.Row)
		if r.Vote != "" {
			fmt.Fprintf(e.stdout, "  vote %s", r.Vote)
		}
		if r.Gold != "" {
			fmt.Fprintf(e.stdout, "  gold %s", r.Gold)
		}
		var vs []string
		for _, l := range x.LFs {
			if v, ok := r.Votes[l]; ok {
				vs = append(vs, l+"="+v)
			}
		}
		if len(vs) == 0 {
			vs = []string{"none"}
		}
		fmt.Fprintf(e.stdout, "  votes: %s", strings.Join(vs, ", "))
		if r.Probs != nil {
			var ps []string
			for _, c := range f.Labels {
				ps = append(ps, fmt.Sprintf("%s %.3f", c, r.Probs[c]))
			}
			fmt.Fprintf(e.stdout, "  probs: %s", strings.Join(ps, ", "))
		}
		fmt.Fprintln(e.stdout)
		if r.Text != "" {
			fmt.Fprintf(e.stdout, "  %s\n", r.Text)
		}
	}
	return nil
}

// readColumn reads one column of a file as text ("" for null), read as
// typ when typ is not nil.
func readColumn(path, column string, df *dataFlags, typ arrow.DataType) ([]string, error) {
	opt, err := df.options()
	if err != nil {
		return nil, err
	}
	return labeling.ReadColumn(path, column, opt, typ)
}
