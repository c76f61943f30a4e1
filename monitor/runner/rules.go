package runner

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/dawn-ml/dawn/alert"
	"github.com/dawn-ml/dawn/monitor"
)

// alertState is what the rules and the dispatcher remember between
// windows (and across restarts: it is committed with each window).
type alertState struct {
	Groups []alert.GroupState `json:"groups"`
	// Streak is, by fingerprint, how many windows in a row a rule's
	// condition held up to (not including) the oldest window in Marks.
	Streak map[string]int `json:"streak"`
	// Marks are, by fingerprint, for rules on figures late labels change
	// (relabelled), the figure of each of the latest MaxRelabelWindows
	// windows that had it, oldest first: a window recomputed for late
	// labels replaces its mark, and the rule is judged on them again.
	Marks  map[string][]mark       `json:"marks,omitempty"`
	Firing map[string]*alert.Alert `json:"firing"` // by fingerprint
	// FinalBelow is the first window late labels may still recompute: the
	// rows of those before it are gone from the source (a stream's
	// retention removed them).
	FinalBelow int64 `json:"final_below,omitempty"`
}

// mark is one window's figure for one alert.
type mark struct {
	W    int64   `json:"w"` // the window's index
	V    float64 `json:"v"`
	Held bool    `json:"held"` // the rule's condition held
}

// relabelled are the checks whose figures late labels change: the
// realised accuracy, and the top segment's risk ratio (error segments
// compare wrong with right rows). A window recomputed for late labels has
// the rules on these checks evaluated again; the others (drift, quality,
// the estimate) do not depend on labels.
var relabelled = map[string]bool{"actual_accuracy": true, "top_segment_risk": true}

// observe records m, one window's figure for the alert fp, and returns the
// newest window's mark with the number of windows in a row, ending at
// that newest one, whose condition held. Windows without the figure (no
// labels yet) are not marked, so they neither extend nor break a run.
// Marks of windows before keepFrom are folded into Streak, oldest first.
func (s *alertState) observe(fp string, m mark, keepFrom int64) (last mark, streak int) {
	ms := s.Marks[fp]
	i, found := slices.BinarySearchFunc(ms, m.W, func(x mark, w int64) int { return cmp.Compare(x.W, w) })
	if found {
		ms[i] = m
	} else {
		ms = slices.Insert(ms, i, m)
	}
	last = ms[len(ms)-1]
	for len(ms) > 0 && ms[0].W < keepFrom {
		if ms[0].Held {
			s.Streak[fp]++
		} else {
			delete(s.Streak, fp)
		}
		ms = ms[1:]
	}
	all := true
	for j := len(ms) - 1; j >= 0; j-- {
		if !ms[j].Held {
			all = false
			break
		}
		streak++
	}
	if all {
		streak += s.Streak[fp]
	}
	if len(ms) == 0 {
		delete(s.Marks, fp)
	} else {
		if s.Marks == nil {
			s.Marks = map[string][]mark{}
		}
		s.Marks[fp] = slices.Clip(ms)
	}
	return last, streak
}

// rules evaluates the alert rules on window idx's report: a new window's
// (every rule), or, with recomputed, the report of a stored window
// recomputed for late labels (the rules on relabelled checks).
//
// An alert's state depends only on the windows' latest figures: it fires
// when the newest For windows that have its figure all meet the
// condition, and resolves when they no longer do. For a new window that is
// Prometheus' "for" counted in windows; for a recomputed one, the
// recomputed figure takes its window's place in that run, so labels that
// arrive late push an alert where it would be had they come in time. An
// alert already firing is raised again with the newest figures (the
// dispatcher does not notify again for that), a new one goes through the
// dispatcher's grouping and timing like any other.
func (r *Runner) rules(rep *monitor.Report, idx int64, now time.Time, recomputed bool) {
	newest := max(idx, r.st.NextWindow-1)
	for _, rule := range r.cfg.Alerts.Rules {
		if recomputed && !relabelled[rule.Check] {
			continue
		}
		keepFrom := int64(math.MaxInt64) // nothing to recompute: fold at once
		if relabelled[rule.Check] {
			keepFrom = newest + 1 - MaxRelabelWindows
		}
		for _, v := range values(rule, rep) {
			labels := map[string]string{"alertname": rule.Name, "monitor": r.cfg.Name, "severity": rule.Severity}
			for k, x := range rule.Labels {
				labels[k] = x
			}
			if v.column != "" {
				labels["column"] = v.column
			}
			fp := alert.Fingerprint(labels)
			last, streak := r.alerts.observe(fp, mark{W: idx, V: v.value, Held: breached(rule.Op, v.value, *rule.Threshold)}, keepFrom)
			a := r.alerts.Firing[fp]
			if !last.Held || streak < rule.For {
				if a != nil {
					res := *a
					res.EndsAt = now
					r.disp.Add(res, now)
					delete(r.alerts.Firing, fp)
				}
				continue
			}
			if recomputed && a != nil && last.W != idx {
				continue // firing, and its newest figure is not this window's
			}
			if a == nil {
				a = &alert.Alert{Labels: labels, StartsAt: now}
				r.alerts.Firing[fp] = a
			}
			summary := rule.Summary
			if summary == "" {
				summary = fmt.Sprintf("%s %s %g %s %g", rule.Name, rule.Check, last.V, rule.Op, *rule.Threshold)
				if v.column != "" {
					summary = fmt.Sprintf("%s: %s of %s is %g (%s %g)", rule.Name, rule.Check, v.column, last.V, rule.Op, *rule.Threshold)
				}
			}
			a.Annotations = map[string]string{"summary": summary, "value": strconv.FormatFloat(last.V, 'g', 6, 64),
				"window": strconv.FormatInt(last.W, 10)}
			r.disp.Add(*a, now)
		}
	}
}

type value struct {
	column string
	value  float64
}

func b01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// values are a rule's check values on a report; none when the report
// lacks the figure (no labels, no model).
func values(rule Rule, rep *monitor.Report) []value {
	col := func(name string) bool { return rule.Column == "" || rule.Column == name }
	var out []value
	switch rule.Check {
	case "dataset_drift":
		out = append(out, value{"", b01(rep.Drift.DatasetDrift)})
	case "drift_share":
		out = append(out, value{"", rep.Drift.Share})
	case "column_drift", "drift_statistic":
		for _, c := range rep.Drift.Columns {
			if col(c.Column) {
				v := b01(c.Drift)
				if rule.Check == "drift_statistic" {
					v = c.Statistic
				}
				out = append(out, value{c.Column, v})
			}
		}
	case "prediction_drift":
		if rep.Prediction != nil {
			out = append(out, value{"", b01(rep.Prediction.Drift)})
		}
	case "estimated_accuracy":
		if e := rep.Performance.Estimated; e != nil {
			out = append(out, value{"", e.Accuracy})
		}
	case "actual_accuracy":
		if e := rep.Performance.Actual; e != nil {
			out = append(out, value{"", e.Accuracy})
		}
	case "missing_rate", "new_categories", "out_of_range":
		for _, q := range rep.Quality.Columns {
			if !col(q.Column) {
				continue
			}
			v := q.MissingRate
			switch rule.Check {
			case "new_categories":
				v = float64(len(q.NewCategories))
			case "out_of_range":
				v = float64(q.OutOfRange)
			}
			out = append(out, value{q.Column, v})
		}
	case "empty":
		out = append(out, value{"", b01(rep.Quality.Empty)})
	case "top_segment_risk":
		if len(rep.Segments) > 0 {
			out = append(out, value{"", rep.Segments[0].RiskRatio})
		} else {
			out = append(out, value{"", 0})
		}
	}
	return out
}

func breached(op string, v, th float64) bool {
	switch op {
	case ">":
		return v > th
	case ">=":
		return v >= th
	case "<":
		return v < th
	case "<=":
		return v <= th
	}
	return false
}
