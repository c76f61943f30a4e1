// Package logprob works with probabilities kept as logarithms.
package logprob

import "math"

// Normalize turns log-scores into probabilities in place (a softmax,
// shifted by the largest score so nothing overflows) and returns the log
// of their normaliser, log Σ exp(v). A row with no finite score (all −Inf,
// or a NaN) becomes uniform, and its normaliser is the largest score.
func Normalize(v []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = max(mx, x)
	}
	if math.IsInf(mx, -1) || math.IsNaN(mx) {
		for i := range v {
			v[i] = 1 / float64(len(v))
		}
		return mx
	}
	var z float64
	for i, x := range v {
		v[i] = math.Exp(x - mx)
		z += v[i]
	}
	for i := range v {
		v[i] /= z
	}
	return mx + math.Log(z)
}
