package auth

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Login errors. ErrLoginBusy and ErrTooManyFailures are answered 429 with
// Retry-After; ErrBadCredentials 401.
var (
	ErrBadCredentials  = errors.New("auth: incorrect username or password")
	ErrLoginBusy       = errors.New("auth: too many logins being checked; try again shortly")
	ErrTooManyFailures = errors.New("auth: too many failed logins; try again later")
)

// Username and password bounds.
const (
	MaxUsernameLength = 64
	MaxPasswordBytes  = 1024
)

// ValidateUsername checks a username: 1 to MaxUsernameLength characters
// from letters, digits and . _ @ + - (so no ':', which basic auth cannot
// carry in a username, and nothing that needs quoting).
func ValidateUsername(name string) error {
	if name == "" {
		return fmt.Errorf("auth: username is empty")
	}
	if len(name) > MaxUsernameLength {
		return fmt.Errorf("auth: username is %d characters; at most %d", len(name), MaxUsernameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '@' || c == '+' || c == '-') {
			return fmt.Errorf("auth: username %q: character %q at %d is not allowed; use letters, digits and . _ @ + -", name, c, i)
		}
	}
	return nil
}

// ValidatePassword checks a new password: not empty, at most
// MaxPasswordBytes.
func ValidatePassword(p string) error {
	if p == "" {
		return fmt.Errorf("auth: password is empty")
	}
	if len(p) > MaxPasswordBytes {
		return fmt.Errorf("auth: password is %d bytes; at most %d", len(p), MaxPasswordBytes)
	}
	return nil
}

// LoginLimits bounds the work and the guessing a client can cause.
type LoginLimits struct {
	// HashSlots is how many password checks run at once; a login that
	// finds none free is refused at once (429) rather than queued. Each
	// check holds at most MaxKDFMemory (19 MiB with current hashes).
	HashSlots int
	// UserFailures failed logins for one username within Window lock
	// that username out (429) until the window ends.
	UserFailures int
	// AddrFailures failed logins from one address within Window lock the
	// address out.
	AddrFailures int
	Window       time.Duration
	// Tracked bounds the usernames and the addresses remembered (each);
	// past it the oldest entry is forgotten.
	Tracked int
}

// DefaultLoginLimits: hashing slots for half the cores, at least 1 and at
// most 4 (4 x 19 MiB of KDF memory), so that a flood of logins leaves cores
// to signed-in users (with a slot per core, a 2-core server under 128
// concurrent bad logins answered them at p99 98–126 ms; with one, see
// bench/auth/results.txt); 10 failures per username and 100 per address in 5
// minutes; 10,000 usernames and addresses remembered.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{
		HashSlots:    max(1, min(runtime.NumCPU()/2, 4)),
		UserFailures: 10,
		AddrFailures: 100,
		Window:       5 * time.Minute,
		Tracked:      10000,
	}
}

// loginGate holds the hashing slots and the failure counts.
type loginGate struct {
	lim   LoginLimits
	slots chan struct{}
	mu    sync.Mutex
	users failures
	addrs failures
}

func newLoginGate(lim LoginLimits) *loginGate {
	d := DefaultLoginLimits()
	if lim.HashSlots <= 0 {
		lim.HashSlots = d.HashSlots
	}
	if lim.Window <= 0 {
		lim.Window = d.Window
	}
	if lim.Tracked <= 0 {
		lim.Tracked = d.Tracked
	}
	return &loginGate{
		lim:   lim,
		slots: make(chan struct{}, lim.HashSlots),
		users: newFailures(lim.Tracked),
		addrs: newFailures(lim.Tracked),
	}
}

func (g *loginGate) acquire() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g *loginGate) release() { <-g.slots }

// admit refuses a login while its username or address is locked out.
func (g *loginGate) admit(user, addr string) error {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lim.UserFailures > 0 && g.users.count(user, now, g.lim.Window) >= g.lim.UserFailures {
		return ErrTooManyFailures
	}
	if g.lim.AddrFailures > 0 && addr != "" && g.addrs.count(addr, now, g.lim.Window) >= g.lim.AddrFailures {
		return ErrTooManyFailures
	}
	return nil
}

func (g *loginGate) failed(user, addr string) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users.add(user, now, g.lim.Window)
	if addr != "" {
		g.addrs.add(addr, now, g.lim.Window)
	}
}

func (g *loginGate) succeeded(user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users.forget(user)
}

// failures counts failures per key in fixed windows, remembering at most
// cap keys (the oldest first to go), so memory is bounded whatever the
// keys an attacker sends.
type failures struct {
	cap   int
	m     map[string]*window
	order []string // keys in insertion order, a ring of cap entries
	next  int
}

type window struct {
	start time.Time
	n     int
}

func newFailures(capacity int) failures {
	return failures{cap: capacity, m: make(map[string]*window, capacity), order: make([]string, 0, capacity)}
}

func (f *failures) count(k string, now time.Time, win time.Duration) int {
	w := f.m[k]
	if w == nil || now.Sub(w.start) >= win {
		return 0
	}
	return w.n
}

func (f *failures) add(k string, now time.Time, win time.Duration) {
	if w := f.m[k]; w != nil {
		if now.Sub(w.start) >= win {
			w.start, w.n = now, 0
		}
		w.n++
		return
	}
	if len(f.order) < f.cap {
		f.order = append(f.order, k)
	} else {
		delete(f.m, f.order[f.next])
		f.order[f.next] = k
		f.next = (f.next + 1) % f.cap
	}
	f.m[k] = &window{start: now, n: 1}
}

// forget clears a key's count; its slot in the ring is reused when the
// ring comes round to it.
func (f *failures) forget(k string) {
	if w := f.m[k]; w != nil {
		w.n = 0
	}
}
