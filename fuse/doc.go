// Package fuse is data fusion and truth inference: many sources (web
// sites, sensors, annotators) make claims (object, source, value) that
// disagree, and fuse infers each object's true value and each source's
// reliability.
//
// Claims are held sparsely, grouped by object (Claims), so millions of
// claims over 100,000 sources fit in a few slices. Categorical methods
// (Method*) give every object a posterior over the values seen for it:
//
//   - Majority: vote shares; the fused value is the most voted one, ties
//     going to the first value in sorted order.
//   - Wawa: majority vote weighted by each source's agreement with the
//     plain majority (crowd-kit's Wawa).
//   - OneCoin: one-coin Dawid–Skene: a source is right with probability
//     p_s and otherwise picks uniformly among the other values.
//   - DawidSkene: full per-source confusion matrices by EM, missing
//     answers ignored. This is labelmodel.DawidSkeneEM, the same code as
//     the Dawid–Skene label model, with abstains not observed.
//   - GLAD: P(correct) = σ(α_s·β_o) with source ability α and object
//     ease β = exp(b), by EM with Newton steps in the M-step and N(1,1)
//     and N(0,1) priors on α and b (Whitehill et al., 2009).
//   - MACE: each source knows the answer with probability θ_s and
//     otherwise answers from its own spam distribution ξ_s; EM with
//     add-0.5 smoothing (Hovy et al., 2013). Unlike Hovy et al., the
//     prior on true values is learned, as Dawid–Skene learns it: with
//     skewed classes and three answers per object a uniform prior cost
//     nine points of accuracy on D_Product-shaped data.
//   - KOS: Karger–Oh–Shah message passing (binary claims only). KOS gives
//     a score, not a probability: the reported probability is the logistic
//     of the object's score divided by the scores' standard deviation.
//   - SLiMFast: a source's accuracy is σ(w·f_s + b + u_s) over its
//     features f_s, with an L2-penalised per-source offset u_s, so sources
//     with few claims borrow strength from similar ones (Rekatsinas et
//     al., 2017). It learns by EM without ground truth and by empirical
//     risk minimisation (ERM) on the claims of objects with known truth;
//     Optimize chooses between them and says why.
//
// Numeric claims use Mean, Median or CATD (confidence-aware truth
// discovery, Li et al., 2014: source weights χ²(α/2, n_s) / Σ squared
// errors, truths their weighted mean).
//
// A Result also scores sources: estimated accuracy with a Wilson interval
// over the source's claim count, and how many fused values would change
// if the source were removed (Impact), which ranks the sources worth
// cleaning or enriching first. A fitted categorical model saves as an
// MLmodel directory (model type "fuse") that `dawn serve` answers with:
// each request row is a claim, and each row gets the fused value of its
// object over the request's claims under the fitted source parameters.
package fuse
