// Package auth is the optional basic-auth layer of the tracking server,
// behaving like MLflow's basic-auth app: users with passwords (argon2id),
// admins, and READ / EDIT / MANAGE / NO_PERMISSIONS on experiments and
// registered models. Missing or wrong credentials get 401 with
// WWW-Authenticate; a request the user may not make gets 403; searches
// return only what the user may read.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	_ "modernc.org/sqlite"
)

// Permission levels, as MLflow names them.
const (
	Read          = "READ"
	Edit          = "EDIT"
	Manage        = "MANAGE"
	NoPermissions = "NO_PERMISSIONS"
)

var rank = map[string]int{NoPermissions: 0, Read: 1, Edit: 2, Manage: 3}

// ValidPermission reports whether p is a permission name.
func ValidPermission(p string) bool { _, ok := rank[p]; return ok }

// allows reports whether holding have permits an action needing need.
func allows(have, need string) bool { return rank[have] >= rank[need] }

// User is an account.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	IsAdmin  bool   `json:"is_admin"`
}

// Store keeps users and permissions in their own SQLite file.
type Store struct {
	db    *sql.DB
	mu    sync.Mutex
	cache map[[32]byte]cached // sha256(user:password) -> verified user
	login *loginGate
	// dummy is verified against for unknown users, so they cost the same
	// work as a wrong password.
	dummy string
}

type cached struct {
	user User
	at   time.Time
}

// cacheTTL bounds how long a verified password is trusted without
// re-running the KDF; changing or deleting a user clears the cache.
const cacheTTL = 5 * time.Minute

// Open opens (creating) the auth database at path and ensures the admin
// user exists with the given password when it does not yet. Logins are
// limited as DefaultLoginLimits says.
func Open(ctx context.Context, path, adminUser, adminPassword string) (*Store, error) {
	return OpenWithLimits(ctx, path, adminUser, adminPassword, DefaultLoginLimits())
}

// OpenWithLimits is Open with the login limits given.
func OpenWithLimits(ctx context.Context, path, adminUser, adminPassword string, lim LoginLimits) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("auth: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS experiment_permissions (experiment_id TEXT NOT NULL, user_id INTEGER NOT NULL, permission TEXT NOT NULL, PRIMARY KEY (experiment_id, user_id))`,
		`CREATE TABLE IF NOT EXISTS registered_model_permissions (name TEXT NOT NULL, user_id INTEGER NOT NULL, permission TEXT NOT NULL, PRIMARY KEY (name, user_id))`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, fmt.Errorf("auth: schema: %w", err)
		}
	}
	s := &Store{db: db, cache: map[[32]byte]cached{}, login: newLoginGate(lim), dummy: hash("dawn dummy password")}
	if _, err := s.GetUser(ctx, adminUser); errors.Is(err, ErrNoUser) {
		if adminPassword == "" {
			db.Close()
			return nil, fmt.Errorf("auth: no admin user %q yet and no admin password given", adminUser)
		}
		if _, err := s.CreateUser(ctx, adminUser, adminPassword, true); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Sentinels.
var (
	ErrNoUser     = errors.New("auth: no such user")
	ErrUserExists = errors.New("auth: user exists")
)

// Password hashing: argon2id with OWASP's minimum memory (19 MiB, two
// passes, one lane), so that HashSlots concurrent checks stay within a
// known amount of memory. Hashes record their parameters; older hashes
// (64 MiB) still verify, at their own cost.
const (
	kdfTime    = 2
	kdfMemory  = 19 * 1024 // KiB
	kdfThreads = 1
	// MaxKDFMemory is the most memory (KiB) a stored hash may ask of a
	// check; a hash asking more does not verify.
	MaxKDFMemory = 64 * 1024
)

func hash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, kdfTime, kdfMemory, kdfThreads, 32)
	return fmt.Sprintf("argon2id$%d$%d$%d$", kdfTime, kdfMemory, kdfThreads) + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
}

func verify(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "argon2id" {
		return false
	}
	t, err1 := strconv.ParseUint(parts[1], 10, 32)
	m, err2 := strconv.ParseUint(parts[2], 10, 32)
	p, err3 := strconv.ParseUint(parts[3], 10, 8)
	salt, err4 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err5 := base64.RawStdEncoding.DecodeString(parts[5])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil || t == 0 || t > 10 || m == 0 || m > MaxKDFMemory || p == 0 || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, username, password string, admin bool) (User, error) {
	if err := ValidateUsername(username); err != nil {
		return User{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return User{}, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO users (username, password_hash, is_admin) VALUES (?, ?, ?)`, username, hash(password), admin)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return User{}, fmt.Errorf("auth: user %q: %w", username, ErrUserExists)
		}
		return User{}, fmt.Errorf("auth: create user %q: %w", username, err)
	}
	id, _ := res.LastInsertId()
	return User{ID: id, Username: username, IsAdmin: admin}, nil
}

// GetUser returns a user by name.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	var u User
	err := s.db.QueryRowContext(ctx, `SELECT id, username, is_admin FROM users WHERE username = ?`, username).Scan(&u.ID, &u.Username, &u.IsAdmin)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("auth: user %q: %w", username, ErrNoUser)
	}
	return u, err
}

// maxLoginName bounds a username presented at login.
const maxLoginName = 256

// Authenticate checks a username and password coming from addr (the
// client's IP address, for the per-address failure limit). It returns
// ErrBadCredentials for a wrong password or an unknown user alike, after
// the same work; ErrLoginBusy when every hashing slot is taken and
// ErrTooManyFailures while the user or the address is locked out (both
// 429). A password verified in the last cacheTTL passes without hashing
// and without the limits, so an attack does not lock signed-in users out.
func (s *Store) Authenticate(ctx context.Context, username, password, addr string) (User, error) {
	k := sha256.Sum256([]byte(username + "\x00" + password))
	s.mu.Lock()
	c, ok := s.cache[k]
	s.mu.Unlock()
	if ok && time.Since(c.at) < cacheTTL {
		return c.user, nil
	}
	// No account can have these (older databases may hold names that
	// ValidateUsername now refuses, so only the length is checked); the
	// bound also keeps the failure tables' keys small.
	if username == "" || len(username) > maxLoginName || password == "" || len(password) > MaxPasswordBytes {
		return User{}, ErrBadCredentials
	}
	if err := s.login.admit(username, addr); err != nil {
		return User{}, err
	}
	if !s.login.acquire() {
		return User{}, ErrLoginBusy
	}
	var u User
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT id, username, is_admin, password_hash FROM users WHERE username = ?`, username).Scan(&u.ID, &u.Username, &u.IsAdmin, &h)
	if err != nil {
		h = s.dummy
	}
	good := verify(h, password) && err == nil
	s.login.release()
	if !good {
		s.login.failed(username, addr)
		return User{}, ErrBadCredentials
	}
	s.login.succeeded(username)
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[k] = cached{u, time.Now()}
	s.mu.Unlock()
	return u, nil
}

func (s *Store) forget() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// UpdatePassword sets a new password.
func (s *Store) UpdatePassword(ctx context.Context, username, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	return s.update(ctx, `UPDATE users SET password_hash = ? WHERE username = ?`, hash(password), username)
}

// UpdateAdmin grants or revokes admin.
func (s *Store) UpdateAdmin(ctx context.Context, username string, admin bool) error {
	return s.update(ctx, `UPDATE users SET is_admin = ? WHERE username = ?`, admin, username)
}

// DeleteUser removes a user and their permissions.
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	u, err := s.GetUser(ctx, username)
	if err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM experiment_permissions WHERE user_id = ?`, `DELETE FROM registered_model_permissions WHERE user_id = ?`, `DELETE FROM users WHERE id = ?`} {
		if _, err := s.db.ExecContext(ctx, q, u.ID); err != nil {
			return fmt.Errorf("auth: delete user %q: %w", username, err)
		}
	}
	s.forget()
	return nil
}

func (s *Store) update(ctx context.Context, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("auth: update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("auth: user %v: %w", args[len(args)-1], ErrNoUser)
	}
	s.forget()
	return nil
}

// Resource kinds.
const (
	Experiment      = "experiment"
	RegisteredModel = "registered_model"
)

func table(kind string) (string, string) {
	if kind == Experiment {
		return "experiment_permissions", "experiment_id"
	}
	return "registered_model_permissions", "name"
}

// Permission returns the user's explicit permission on a resource, or "".
func (s *Store) Permission(ctx context.Context, kind, resource string, userID int64) (string, error) {
	t, col := table(kind)
	var p string
	err := s.db.QueryRowContext(ctx, `SELECT permission FROM `+t+` WHERE `+col+` = ? AND user_id = ?`, resource, userID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return p, err
}

// SetPermission creates or replaces a permission.
func (s *Store) SetPermission(ctx context.Context, kind, resource string, userID int64, perm string) error {
	t, col := table(kind)
	_, err := s.db.ExecContext(ctx, `INSERT INTO `+t+` (`+col+`, user_id, permission) VALUES (?, ?, ?)
		ON CONFLICT (`+col+`, user_id) DO UPDATE SET permission = excluded.permission`, resource, userID, perm)
	return err
}

// DeletePermission removes a permission.
func (s *Store) DeletePermission(ctx context.Context, kind, resource string, userID int64) error {
	t, col := table(kind)
	_, err := s.db.ExecContext(ctx, `DELETE FROM `+t+` WHERE `+col+` = ? AND user_id = ?`, resource, userID)
	return err
}

// DeletePermissions removes every user's permission on a resource.
func (s *Store) DeletePermissions(ctx context.Context, kind, resource string) error {
	t, col := table(kind)
	_, err := s.db.ExecContext(ctx, `DELETE FROM `+t+` WHERE `+col+` = ?`, resource)
	return err
}

// RenameModel moves permissions when a registered model is renamed.
func (s *Store) RenameModel(ctx context.Context, from, to string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE registered_model_permissions SET name = ? WHERE name = ?`, to, from)
	return err
}
