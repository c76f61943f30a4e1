// Package labelmodel turns a label matrix (package label) into
// probabilistic labels without ground truth: it learns how far to trust
// each labeling function (LF) and combines their votes.
//
// Every method works from sufficient statistics gathered in one parallel
// pass over the matrix (ComputeStats): the overlap counts of the one-hot
// indicator matrix (Snorkel's O, m·k × m·k), each LF's vote count, and a
// table of the distinct vote patterns with their counts. A fit never goes
// back to the rows, so its per-epoch cost does not grow with them.
//
// Methods (New, behind the Model interface; all multi-class, k ≥ 2):
//
//   - Majority: Snorkel's MajorityLabelVoter. Each row is uniform over
//     the classes with the most votes; a row without votes is uniform over
//     all classes.
//   - Snorkel: Snorkel v0.10's LabelModel (Ratner et al., AAAI 2019, the
//     conditionally independent case; snorkel/labeling/model/
//     label_model.py): mu[i·k+a, y] ≈ P(LF i votes a | Y = y) is fitted by
//     full-batch SGD with momentum (or Adam) on
//     ‖(O − mu·diag(p)·muᵀ) off LF-diagonal blocks‖² + ‖rowsum(mu·diag(p)) −
//     diag(O)‖² + l2 terms, from Snorkel's init (diag(O)·0.7/p_y on the
//     vote = class entries, scaled by numpy's first random draw for the
//     seed), then clamped to [ε, 1−ε] and column-permuted to fix label-swap
//     symmetry among classes of equal prior. Computed in float64 where
//     Snorkel uses torch float32.
//   - DawidSkene: EM over per-LF k×(k+1) confusion matrices with abstain as
//     an observed outcome (Dawid & Skene, 1979), started from majority vote,
//     over the pattern table.
//   - Triplet: FlyingSquid's closed-form triplet method (Fu et al., ICML
//     2020); binary natively, one-vs-rest for k > 2.
//
// Predictions follow Snorkel's probs_to_preds: classes within 1e-5 of a
// row's top probability tie, and ties go by a TieBreak policy, including
// Snorkel's deterministic hash-based "random". Fitted models are saved as
// JSON (Save, Load) with their method, classes, LF names and parameters,
// so new data can be labeled later; a matrix whose LFs or classes differ
// from the model's is refused.
package labelmodel
