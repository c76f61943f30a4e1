package train

import (
	"fmt"
	"math"

	"github.com/dawn-ml/dawn/featurize"
)

// Kind is a model type; its string is the MLmodel model_type.
type Kind string

// The model kinds.
const (
	LogReg  Kind = "logreg"  // binary logistic regression
	Softmax Kind = "softmax" // multinomial logistic regression
	LinReg  Kind = "linreg"  // least-squares linear regression
	MLP     Kind = "mlp"     // one hidden ReLU layer, softmax output
)

// Kinds lists the model kinds.
var Kinds = []Kind{LogReg, Softmax, LinReg, MLP}

// ParseKind checks a model type name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("train: unknown model %q; want logreg, softmax, linreg or mlp", s)
}

// Classifier reports whether the kind predicts classes.
func (k Kind) Classifier() bool { return k != LinReg }

// Params are a model's weights. Linear kinds use W (D×K, feature-major:
// W[j*K+k]) and B (K). The MLP uses W (D×H) and B (H) for the hidden layer
// and W2 (H×K) and B2 (K) for the output.
type Params struct {
	Kind Kind
	D    int // input width
	K    int // outputs: 1 for logreg and linreg, else the number of classes
	H    int // hidden units (MLP)
	W, B []float64
	W2   []float64
	B2   []float64
}

// NewParams allocates zero weights.
func NewParams(kind Kind, d, classes, hidden int) *Params {
	p := &Params{Kind: kind, D: d}
	switch kind {
	case LogReg, LinReg:
		p.K = 1
	default:
		p.K = classes
	}
	if kind == MLP {
		p.H = hidden
		p.W, p.B = make([]float64, d*hidden), make([]float64, hidden)
		p.W2, p.B2 = make([]float64, hidden*p.K), make([]float64, p.K)
	} else {
		p.W, p.B = make([]float64, d*p.K), make([]float64, p.K)
	}
	return p
}

// tensors lists the weight slices in a fixed order (for flattening).
func (p *Params) tensors() [][]float64 {
	if p.Kind == MLP {
		return [][]float64{p.W, p.B, p.W2, p.B2}
	}
	return [][]float64{p.W, p.B}
}

// Len is the total number of parameters.
func (p *Params) Len() int {
	n := 0
	for _, t := range p.tensors() {
		n += len(t)
	}
	return n
}

// flatten copies the parameters into dst (len Len()).
func (p *Params) flatten(dst []float64) {
	o := 0
	for _, t := range p.tensors() {
		o += copy(dst[o:], t)
	}
}

// unflatten copies src into the parameters.
func (p *Params) unflatten(src []float64) {
	o := 0
	for _, t := range p.tensors() {
		o += copy(t, src[o:])
	}
}

// Clone returns a deep copy.
func (p *Params) Clone() *Params {
	q := *p
	q.W = append([]float64(nil), p.W...)
	q.B = append([]float64(nil), p.B...)
	q.W2 = append([]float64(nil), p.W2...)
	q.B2 = append([]float64(nil), p.B2...)
	return &q
}

// Outputs is the number of values a prediction has per row: the number of
// classes for classifiers, 1 for regression.
func (p *Params) Outputs() int {
	if p.Kind == LogReg {
		return 2
	}
	return p.K
}

// work is per-goroutine scratch for one row.
type work struct {
	z, dz, h, dh []float64
}

func newWork(p *Params) *work {
	return &work{z: make([]float64, max(p.K, 2)), dz: make([]float64, max(p.K, 2)), h: make([]float64, p.H), dh: make([]float64, p.H)}
}

// logits computes the model's raw outputs for one row into w.z (and the
// hidden activations into w.h for the MLP).
func (p *Params) logits(idx []int32, val []float32, w *work) {
	K := p.K
	if p.Kind == MLP {
		H := p.H
		h := w.h
		copy(h, p.B)
		for n, j := range idx {
			x := float64(val[n])
			row := p.W[int(j)*H : int(j)*H+H]
			for u := range h {
				h[u] += x * row[u]
			}
		}
		z := w.z[:K]
		copy(z, p.B2)
		for u, a := range h {
			if a <= 0 {
				h[u] = 0
				continue
			}
			row := p.W2[u*K : u*K+K]
			for k := range z {
				z[k] += a * row[k]
			}
		}
		return
	}
	z := w.z[:K]
	copy(z, p.B)
	if K == 1 {
		s := p.B[0]
		for n, j := range idx {
			s += float64(val[n]) * p.W[j]
		}
		z[0] = s
		return
	}
	for n, j := range idx {
		x := float64(val[n])
		row := p.W[int(j)*K : int(j)*K+K]
		for k := range z {
			z[k] += x * row[k]
		}
	}
}

// lossGrad returns the loss of one row with logits z against its target t
// (class probabilities, or the value for regression) and writes dloss/dz
// into dz. The classification losses are the expected cross-entropy
// Σ_y t_y·CE(z, y), which equals the usual cross-entropy for one-hot t.
func lossGrad(kind Kind, z, t, dz []float64) float64 {
	switch kind {
	case LinReg:
		d := z[0] - t[0]
		dz[0] = d
		return 0.5 * d * d
	case LogReg:
		// t[1] = P(y = 1). loss = softplus(z) - t·z, stable for large |z|.
		x, tt := z[0], t[1]
		dz[0] = sigmoid(x) - tt*(t[0]+t[1])
		return (t[0]+t[1])*softplus(x) - tt*x
	default:
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range z {
			s += math.Exp(v - m)
		}
		lse := m + math.Log(s)
		var loss, tsum float64
		for _, ty := range t {
			tsum += ty
		}
		for k, v := range z {
			loss += t[k] * (lse - v)
			dz[k] = math.Exp(v-lse)*tsum - t[k]
		}
		return loss
	}
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplus(x float64) float64 {
	if x > 30 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// probs turns logits into class probabilities (or the regression value).
func (p *Params) probs(z, out []float64) {
	switch p.Kind {
	case LinReg:
		out[0] = z[0]
	case LogReg:
		s := sigmoid(z[0])
		out[0], out[1] = 1-s, s
	default:
		m := math.Inf(-1)
		for _, v := range z[:p.K] {
			m = math.Max(m, v)
		}
		var s float64
		for k, v := range z[:p.K] {
			out[k] = math.Exp(v - m)
			s += out[k]
		}
		for k := range out[:p.K] {
			out[k] /= s
		}
	}
}

// backward accumulates scale·dloss/dθ for one row into g, given the row's
// dz (in w.dz) and the forward state in w.
func (p *Params) backward(idx []int32, val []float32, w *work, scale float64, g *Params) {
	K := p.K
	dz := w.dz[:K]
	if p.Kind == MLP {
		H := p.H
		for k := range dz {
			g.B2[k] += scale * dz[k]
		}
		dh := w.dh
		for u, a := range w.h {
			dh[u] = 0
			if a <= 0 {
				continue
			}
			row := p.W2[u*K : u*K+K]
			grow := g.W2[u*K : u*K+K]
			var s float64
			for k := range dz {
				grow[k] += scale * a * dz[k]
				s += row[k] * dz[k]
			}
			dh[u] = s
		}
		for u := range dh {
			g.B[u] += scale * dh[u]
		}
		for n, j := range idx {
			x := scale * float64(val[n])
			grow := g.W[int(j)*H : int(j)*H+H]
			for u, d := range dh {
				grow[u] += x * d
			}
		}
		return
	}
	for k := range dz {
		g.B[k] += scale * dz[k]
	}
	for n, j := range idx {
		x := scale * float64(val[n])
		grow := g.W[int(j)*K : int(j)*K+K]
		for k := range dz {
			grow[k] += x * dz[k]
		}
	}
}

// Objective is the full-batch training objective at p: the mean weighted
// loss plus the penalties. When g is non-nil it receives the gradient.
func Objective(p *Params, ds *Dataset, l2, l1 float64, g *Params) float64 {
	w := newWork(p)
	if g != nil {
		for _, t := range g.tensors() {
			clear(t)
		}
	}
	n := ds.X.Rows()
	var total float64
	inv := 1 / float64(n)
	for i := 0; i < n; i++ {
		idx, val := ds.X.Row(i)
		p.logits(idx, val, w)
		rw := ds.weight(i)
		total += rw * lossGrad(p.Kind, w.z[:p.K], ds.target(i), w.dz)
		if g != nil {
			p.backward(idx, val, w, rw*inv, g)
		}
	}
	total *= inv
	for _, t := range p.penalized() {
		for _, v := range t {
			total += 0.5*l2*v*v + l1*math.Abs(v)
		}
	}
	if g != nil {
		gp := g.penalized()
		for ti, t := range p.penalized() {
			for i, v := range t {
				gp[ti][i] += l2*v + l1*sign(v)
			}
		}
	}
	return total
}

func (p *Params) penalized() [][]float64 {
	if p.Kind == MLP {
		return [][]float64{p.W, p.W2}
	}
	return [][]float64{p.W}
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// Dataset is a featurized training set.
type Dataset struct {
	X *featurize.Matrix
	// Y holds the targets row-major: n×C class probabilities for
	// classifiers (C = len(Classes)), or n values for regression.
	Y []float64
	// C is the width of a target row.
	C int
	// Weight is an optional per-row weight (nil: all 1).
	Weight []float64
}

func (d *Dataset) target(i int) []float64 { return d.Y[i*d.C : i*d.C+d.C] }

func (d *Dataset) weight(i int) float64 {
	if d.Weight == nil {
		return 1
	}
	return d.Weight[i]
}

// Subset returns the dataset restricted to rows, in order.
func (d *Dataset) Subset(rows []int) *Dataset {
	out := &Dataset{X: d.X.Subset(rows), C: d.C}
	out.Y = make([]float64, 0, len(rows)*d.C)
	for _, r := range rows {
		out.Y = append(out.Y, d.target(r)...)
	}
	if d.Weight != nil {
		for _, r := range rows {
			out.Weight = append(out.Weight, d.Weight[r])
		}
	}
	return out
}
