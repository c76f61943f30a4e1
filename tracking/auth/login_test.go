package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestValidateUsername(t *testing.T) {
	for _, ok := range []string{"alice", "a.b_c-d+e@example.com", strings.Repeat("x", MaxUsernameLength)} {
		if err := ValidateUsername(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a:b", "a b", "a/b", "é", "a\x00", strings.Repeat("x", MaxUsernameLength+1)} {
		if ValidateUsername(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func openTest(t *testing.T, lim LoginLimits) *Store {
	s, err := OpenWithLimits(t.Context(), filepath.Join(t.TempDir(), "auth.db"), "admin", "admin-pw", lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCreateUserRefusesBadNamesAndPasswords(t *testing.T) {
	s := openTest(t, DefaultLoginLimits())
	ctx := t.Context()
	for _, c := range []struct{ name, pw string }{{"a:b", "pw"}, {"bob", ""}, {"", "pw"}, {"bob", strings.Repeat("p", MaxPasswordBytes+1)}} {
		if _, err := s.CreateUser(ctx, c.name, c.pw, false); err == nil {
			t.Errorf("CreateUser(%q, %q) succeeded", c.name, c.pw)
		}
	}
	if _, err := s.CreateUser(ctx, "bob", "pw", false); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdatePassword(ctx, "bob", ""); err == nil {
		t.Errorf("empty password set")
	}
	if _, err := s.Authenticate(ctx, "bob", "", "1.2.3.4"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("empty password: %v", err)
	}
}

func TestFailureLimits(t *testing.T) {
	lim := DefaultLoginLimits()
	lim.UserFailures, lim.AddrFailures = 3, 5
	s := openTest(t, lim)
	ctx := t.Context()
	s.CreateUser(ctx, "bob", "bob-pw", false)
	// Bob signs in once, so his password is cached.
	if _, err := s.Authenticate(ctx, "bob", "bob-pw", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Authenticate(ctx, "bob", "guess", "10.0.0.2"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := s.Authenticate(ctx, "bob", "guess", "10.0.0.3"); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("4th guess for bob: %v, want locked out", err)
	}
	// The right password, already verified, still passes.
	if _, err := s.Authenticate(ctx, "bob", "bob-pw", "10.0.0.1"); err != nil {
		t.Fatalf("bob locked out by an attacker: %v", err)
	}
	// Unknown users count the same way (no oracle in the lockout).
	for range 3 {
		s.Authenticate(ctx, "ghost", "guess", "10.0.0.4")
	}
	if _, err := s.Authenticate(ctx, "ghost", "guess", "10.0.0.9"); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("unknown user: %v, want locked out", err)
	}
	// Per address: 5 failures over different names lock the address.
	for i := range 5 {
		s.Authenticate(ctx, fmt.Sprintf("name%d", i), "guess", "10.0.0.7")
	}
	if _, err := s.Authenticate(ctx, "other", "guess", "10.0.0.7"); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("address: %v, want locked out", err)
	}
	if _, err := s.Authenticate(ctx, "other", "guess", "10.0.0.8"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("another address: %v", err)
	}
}

func TestFailuresBounded(t *testing.T) {
	f := newFailures(100)
	now := time.Now()
	for i := range 10000 {
		f.add(fmt.Sprint(i), now, time.Minute)
	}
	if len(f.m) != 100 || len(f.order) != 100 {
		t.Fatalf("remembered %d keys (%d in ring), want 100", len(f.m), len(f.order))
	}
	if f.count("9999", now, time.Minute) != 1 || f.count("0", now, time.Minute) != 0 {
		t.Fatalf("newest or oldest wrong")
	}
	if f.count("9999", now.Add(2*time.Minute), time.Minute) != 0 {
		t.Fatalf("window did not expire")
	}
}

func TestHashPoolRefusesFast(t *testing.T) {
	lim := DefaultLoginLimits()
	lim.HashSlots, lim.UserFailures, lim.AddrFailures = 1, 0, 0
	s := openTest(t, lim)
	if !s.login.acquire() { // every slot taken
		t.Fatal("no slot")
	}
	start := time.Now()
	_, err := s.Authenticate(t.Context(), "admin", "wrong", "10.0.0.1")
	if !errors.Is(err, ErrLoginBusy) {
		t.Fatalf("%v, want ErrLoginBusy", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("refusal took %v", d)
	}
	s.login.release()
	if _, err := s.Authenticate(t.Context(), "admin", "admin-pw", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	busy := 0
	var mu sync.Mutex
	for range 16 {
		wg.Go(func() {
			if _, err := s.Authenticate(context.Background(), "admin", "nope", "10.0.0.1"); errors.Is(err, ErrLoginBusy) {
				mu.Lock()
				busy++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if busy == 0 {
		t.Errorf("16 concurrent checks on 1 slot: none refused")
	}
}

func TestVerifyOldHashes(t *testing.T) {
	// A hash with the parameters dawn used before (64 MiB, one pass, two
	// lanes) still verifies; one asking for more memory than
	// MaxKDFMemory does not.
	salt := "c2FsdHNhbHRzYWx0c2FsdA"
	h := hashWith("pw", salt, 1, 64*1024, 2)
	if !verify(h, "pw") || verify(h, "px") {
		t.Fatalf("old hash")
	}
	if verify(hashWith("pw", salt, 1, MaxKDFMemory*2, 1), "pw") {
		t.Fatalf("a hash asking %d KiB verified", MaxKDFMemory*2)
	}
}

func hashWith(pw, salt string, t, m uint32, p uint8) string {
	raw, _ := base64.RawStdEncoding.DecodeString(salt)
	var key []byte
	if m <= MaxKDFMemory {
		key = argon2.IDKey([]byte(pw), raw, t, m, p, 32)
	} else {
		key = make([]byte, 32) // never computed: verify must refuse first
	}
	return fmt.Sprintf("argon2id$%d$%d$%d$%s$%s", t, m, p, salt, base64.RawStdEncoding.EncodeToString(key))
}

// BenchmarkAuthenticate: a wrong password and an unknown user cost the
// same (one argon2id check each).
func BenchmarkAuthenticate(b *testing.B) {
	lim := DefaultLoginLimits()
	lim.UserFailures, lim.AddrFailures = 0, 0
	s, err := OpenWithLimits(b.Context(), filepath.Join(b.TempDir(), "auth.db"), "admin", "admin-pw", lim)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.CreateUser(b.Context(), "alice", "alice-pw", false)
	for _, c := range []struct{ name, user string }{{"wrong-password", "alice"}, {"unknown-user", "nobody"}} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n++
				if _, err := s.Authenticate(b.Context(), c.user, fmt.Sprint("guess", n), "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
					b.Fatal(err)
				}
			}
		})
	}
}
