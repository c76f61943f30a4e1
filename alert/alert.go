// Package alert turns monitor verdicts into notifications with
// Alertmanager's semantics: an alert is identified by the fingerprint of
// its labels (the same alert raised again is deduplicated), alerts are
// grouped by a set of label names, a new group waits GroupWait before its
// first notification, a changed group is notified again at most every
// GroupInterval, an unchanged firing group is re-sent every
// RepeatInterval, resolved alerts are sent once as resolved, and silences
// (label matchers with a time range) mute the alerts they match.
// Notifications carry Alertmanager's webhook payload (version 4), so the
// same receiver can take both.
package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Alert is one alert as a rule raises it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitempty"` // set: resolved at that time
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Fingerprint identifies an alert by its labels: the first 16 hex digits
// of SHA-256 over the sorted name=value pairs.
func Fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Route says how alerts are grouped and how often they are sent.
type Route struct {
	Receiver       string
	GroupBy        []string
	GroupWait      time.Duration // default 30 s
	GroupInterval  time.Duration // default 5 m
	RepeatInterval time.Duration // default 4 h
}

func (r Route) withDefaults() Route {
	if r.GroupWait == 0 {
		r.GroupWait = 30 * time.Second
	}
	if r.GroupInterval == 0 {
		r.GroupInterval = 5 * time.Minute
	}
	if r.RepeatInterval == 0 {
		r.RepeatInterval = 4 * time.Hour
	}
	if r.Receiver == "" {
		r.Receiver = "dawn"
	}
	return r
}

// Matcher matches one label: equal (or, with Regex, a full match of the
// RE2 expression), negated with Negative.
type Matcher struct {
	Name, Value     string
	Regex, Negative bool
}

func (m Matcher) matches(labels map[string]string) bool {
	v := labels[m.Name]
	ok := v == m.Value
	if m.Regex {
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		ok = err == nil && re.MatchString(v)
	}
	return ok != m.Negative
}

// Silence mutes the alerts all its matchers match, from StartsAt to EndsAt.
type Silence struct {
	ID       string
	Matchers []Matcher
	StartsAt time.Time
	EndsAt   time.Time
	Comment  string
}

func (s Silence) mutes(a *Alert, now time.Time) bool {
	if now.Before(s.StartsAt) || !now.Before(s.EndsAt) {
		return false
	}
	for _, m := range s.Matchers {
		if !m.matches(a.Labels) {
			return false
		}
	}
	return true
}

// Notification is one message to a receiver: Alertmanager's webhook
// payload, version 4, plus an ID that stays the same if it is retried.
type Notification struct {
	ID                string            `json:"-"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	Status            string            `json:"status"` // firing when any alert fires
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Sent            `json:"alerts"`
}

// Sent is one alert in a Notification.
type Sent struct {
	Status string `json:"status"`
	Alert
	Fingerprint string `json:"fingerprint"`
}

type group struct {
	key      string
	labels   map[string]string
	alerts   map[string]*Alert // by fingerprint
	created  time.Time
	lastSent time.Time // zero: never
	sentHash string    // what the last notification held
	seq      int
}

// Dispatcher groups alerts and decides when to notify.
type Dispatcher struct {
	Route    Route
	Silences []Silence
	groups   map[string]*group
}

// NewDispatcher makes a dispatcher for one route.
func NewDispatcher(r Route) *Dispatcher {
	return &Dispatcher{Route: r.withDefaults(), groups: map[string]*group{}}
}

// Add records an alert (firing, or resolved when EndsAt is set and not
// after now). Raising an alert again with the same labels updates it.
func (d *Dispatcher) Add(a Alert, now time.Time) {
	gl := map[string]string{}
	var parts []string
	for _, k := range d.Route.GroupBy {
		gl[k] = a.Labels[k]
		parts = append(parts, k+"="+a.Labels[k])
	}
	key := "{}:{" + strings.Join(parts, ",") + "}"
	g := d.groups[key]
	if g == nil {
		if !a.EndsAt.IsZero() && !a.EndsAt.After(now) {
			return // resolving an alert nobody was told about
		}
		g = &group{key: key, labels: gl, alerts: map[string]*Alert{}, created: now}
		d.groups[key] = g
	}
	fp := Fingerprint(a.Labels)
	if old, ok := g.alerts[fp]; ok && old.EndsAt.IsZero() && !a.StartsAt.IsZero() {
		a.StartsAt = old.StartsAt // the same alert, still firing since then
	}
	cp := a
	g.alerts[fp] = &cp
}

func resolved(a *Alert, now time.Time) bool { return !a.EndsAt.IsZero() && !a.EndsAt.After(now) }

// Flush returns the notifications due at now, in group-key order.
func (d *Dispatcher) Flush(now time.Time) []Notification {
	keys := make([]string, 0, len(d.groups))
	for k := range d.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Notification
	for _, k := range keys {
		g := d.groups[k]
		n, ok := d.flushGroup(g, now)
		if ok {
			out = append(out, n)
		}
		// A resolved alert leaves the group once it was sent as resolved,
		// or at once when nobody was told it fired (or it is muted); an
		// empty group goes.
		if !now.Before(g.created.Add(d.Route.GroupWait)) {
			for fp, a := range g.alerts {
				if resolved(a, now) && (ok || g.lastSent.IsZero() || d.muted(a, now)) {
					delete(g.alerts, fp)
				}
			}
		}
		if len(g.alerts) == 0 {
			delete(d.groups, k)
		}
	}
	return out
}

func (d *Dispatcher) flushGroup(g *group, now time.Time) (Notification, bool) {
	if now.Before(g.created.Add(d.Route.GroupWait)) {
		return Notification{}, false
	}
	var sent []Sent
	fps := make([]string, 0, len(g.alerts))
	for fp := range g.alerts {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	firing := false
	for _, fp := range fps {
		a := g.alerts[fp]
		if d.muted(a, now) {
			continue
		}
		st := "firing"
		if resolved(a, now) {
			st = "resolved"
		} else {
			firing = true
		}
		sent = append(sent, Sent{Status: st, Alert: *a, Fingerprint: fp})
	}
	if len(sent) == 0 {
		return Notification{}, false
	}
	if !firing && g.lastSent.IsZero() {
		return Notification{}, false // resolved before anyone heard of it
	}
	h := sha256.New()
	for _, s := range sent {
		fmt.Fprintf(h, "%s %s;", s.Fingerprint, s.Status)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	switch {
	case g.lastSent.IsZero():
	case hash != g.sentHash && !now.Before(g.lastSent.Add(d.Route.GroupInterval)):
	case hash == g.sentHash && firing && !now.Before(g.lastSent.Add(d.Route.RepeatInterval)):
	default:
		return Notification{}, false
	}
	g.lastSent, g.sentHash = now, hash
	g.seq++
	n := Notification{
		ID:       fmt.Sprintf("msg_%s_%d", Fingerprint(map[string]string{"group": g.key}), g.seq),
		Version:  "4",
		GroupKey: g.key, Status: "resolved", Receiver: d.Route.Receiver,
		GroupLabels: g.labels, Alerts: sent,
		CommonLabels:      common(sent, func(s Sent) map[string]string { return s.Labels }),
		CommonAnnotations: common(sent, func(s Sent) map[string]string { return s.Annotations }),
	}
	if firing {
		n.Status = "firing"
	}
	return n, true
}

func (d *Dispatcher) muted(a *Alert, now time.Time) bool {
	for _, s := range d.Silences {
		if s.mutes(a, now) {
			return true
		}
	}
	return false
}

// common is the label pairs every alert shares.
func common(sent []Sent, get func(Sent) map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range get(sent[0]) {
		out[k] = v
	}
	for _, s := range sent[1:] {
		m := get(s)
		for k, v := range out {
			if m[k] != v {
				delete(out, k)
			}
		}
	}
	return out
}
