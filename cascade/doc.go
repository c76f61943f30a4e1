// Package cascade puts a cheap model in front of an expensive one, as
// NoScope does: a small specialized model is trained on the expensive
// (reference) model's own answers over a sample of the data, and at
// prediction time it answers the inputs it is sure about, leaving only the
// uncertain ones to the reference.
//
// For a binary task the cheap model's probability p of the second class
// decides: p <= Low answers the first class, p >= High the second, and
// anything between goes to the reference. (With more classes the cheap
// model answers when its top probability is >= High.) An optional
// difference detector, for ordered inputs, reuses the previous answer when
// an input is within a distance of the previous one.
//
// Optimize is the cost-based optimizer: on a held-out sample labeled by the
// reference it picks the thresholds (and the difference detector's) that
// minimize the expected cost per input, from each stage's measured cost,
// subject to agreement with the reference >= a target. Build runs the whole
// recipe; Client calls any endpoint speaking MLflow's /invocations protocol
// as a reference, with bounded concurrency, retries, timeouts and a cache.
package cascade
