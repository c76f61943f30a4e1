package alert

import (
	"sort"
	"time"
)

// GroupState is one group of a Dispatcher as State saves it.
type GroupState struct {
	Key      string            `json:"key"`
	Labels   map[string]string `json:"labels"`
	Alerts   []Alert           `json:"alerts"`
	Created  time.Time         `json:"created"`
	LastSent time.Time         `json:"last_sent"`
	SentHash string            `json:"sent_hash,omitempty"`
	Seq      int               `json:"seq"`
}

// State returns the dispatcher's groups, in key order, so that a process
// that restarts can Restore them: without it a restart would forget what
// was already sent and notify again.
func (d *Dispatcher) State() []GroupState {
	keys := make([]string, 0, len(d.groups))
	for k := range d.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]GroupState, 0, len(keys))
	for _, k := range keys {
		g := d.groups[k]
		gs := GroupState{Key: g.key, Labels: g.labels, Created: g.created, LastSent: g.lastSent, SentHash: g.sentHash, Seq: g.seq}
		fps := make([]string, 0, len(g.alerts))
		for fp := range g.alerts {
			fps = append(fps, fp)
		}
		sort.Strings(fps)
		for _, fp := range fps {
			gs.Alerts = append(gs.Alerts, *g.alerts[fp])
		}
		out = append(out, gs)
	}
	return out
}

// Restore replaces the dispatcher's groups with saved ones.
func (d *Dispatcher) Restore(gs []GroupState) {
	d.groups = map[string]*group{}
	for _, s := range gs {
		g := &group{key: s.Key, labels: s.Labels, alerts: map[string]*Alert{}, created: s.Created,
			lastSent: s.LastSent, sentHash: s.SentHash, seq: s.Seq}
		if g.labels == nil {
			g.labels = map[string]string{}
		}
		for _, a := range s.Alerts {
			cp := a
			g.alerts[Fingerprint(a.Labels)] = &cp
		}
		d.groups[s.Key] = g
	}
}
