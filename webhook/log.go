package webhook

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Attempt is one delivery attempt in the Log.
type Attempt struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Attempt   int       `json:"attempt"`
	Time      time.Time `json:"time"`
	Status    int       `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
	Delivered bool      `json:"delivered"`
}

// Log is an append-only JSON-lines file of attempts, synced after each
// record. It keeps the ids of delivered messages in memory (one entry per
// message: bounded by the messages sent).
type Log struct {
	mu        sync.Mutex
	f         *os.File
	delivered map[string]bool
	attempts  []Attempt
}

// OpenLog opens (creating) the log at path and reads what it holds. A
// torn last line (a crash mid-write) is ignored.
func OpenLog(path string) (*Log, error) {
	l := &Log{delivered: map[string]bool{}}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var a Attempt
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				continue
			}
			l.attempts = append(l.attempts, a)
			if a.Delivered {
				l.delivered[a.ID] = true
			}
		}
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("webhook: delivery log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("webhook: delivery log: %w", err)
	}
	l.f = f
	return l, nil
}

// Append records an attempt durably.
func (l *Log) Append(a Attempt) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if l == nil {
		return nil // a Sender given a nil *Log records nothing
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("webhook: delivery log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("webhook: delivery log: %w", err)
	}
	l.attempts = append(l.attempts, a)
	if a.Delivered {
		l.delivered[a.ID] = true
	}
	return nil
}

// Delivered reports whether message id was delivered.
func (l *Log) Delivered(id string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delivered[id]
}

// Attempts returns every attempt recorded, oldest first.
func (l *Log) Attempts() []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Attempt(nil), l.attempts...)
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }
