// Package train fits dawn's end models: logistic regression (binary),
// softmax regression (multi-class), linear regression and a one-hidden-layer
// MLP, on hard labels or on probabilistic labels with the noise-aware
// (expected cross-entropy) loss, with optional per-row weights.
//
// Optimizers:
//   - SGD run HogWild!-style: every worker updates the shared weights with
//     no lock. Weights are float64 bits in []uint64 read and written with
//     sync/atomic, so updates may be lost (as HogWild! allows) but the
//     program is free of data races. With one thread and a seed, training is
//     deterministic.
//   - A low-precision SGD (Buckwild!) for the linear models: weights held as
//     int8 or int16 fixed-point lanes packed into uint32 words, updated with
//     compare-and-swap, every update rounded stochastically and so unbiased.
//   - Full-batch L-BFGS (gonum/optimize) for small problems solved exactly.
//
// Regularization: the objective is the mean weighted loss plus
// l2/2·‖W‖² + l1·‖W‖₁ over the weights (not the biases). SGD applies the
// penalty only to the features a row touches, scaled by n/count(feature) so
// that its expectation is the full penalty (the HogWild! paper's split), as
// a proximal step so that rare features cannot overshoot.
//
// Early stopping watches the loss on a validation set after every epoch and
// keeps the best weights.
package train
