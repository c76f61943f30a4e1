// Package runner is `dawn monitor run`: a continuous monitor that follows
// a prediction log as its files roll, cuts it into windows (a number of
// rows, or a span of the rows' time), checks each window against the
// model's reference profile with monitor.Check, turns the results into
// alerts with Alertmanager's semantics (package alert), and delivers the
// notifications to signed webhooks (package webhook), Alertmanagers,
// commands and registry rollbacks.
//
// State lives in the tracking store (tracking.MonitorStore): each window is
// committed together with the source position after it, the alert state and
// the notifications it raised, so a restart resumes at the next window,
// never evaluates a window twice, and never loses nor re-creates a
// notification. Notifications are delivered from that outbox after the
// commit and closed when delivered: a process killed between the commit and
// the delivery delivers after its restart, and a delivery that was made but
// not yet recorded is repeated with the same id (at least once; receivers
// dedupe on the id).
//
// Bounds: a window holds at most MaxWindowRows rows (Config.Window.Rows is
// checked against it; a time window larger than that is cut at the bound);
// files are read whole, one at a time, so memory is about one file plus one
// window; a monitor file is at most MaxConfigBytes.
package runner
