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
}

type cached struct {
	user User
	at   time.Time
}

// cacheTTL bounds how long a verified password is trusted without
// re-running the KDF; changing or deleting a user clears the cache.
const cacheTTL = 5 * time.Minute

// Open opens (creating) the auth database at path and ensures the admin
// user exists with the given password when it does not yet.
func Open(ctx context.Context, path, adminUser, adminPassword string) (*Store, error) {
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
	s := &Store{db: db, cache: map[[32]byte]cached{}}
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

func hash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 1, 64*1024, 2, 32)
	return "argon2id$1$65536$2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
}

func verify(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "argon2id" {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, 1, 64*1024, 2, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, username, password string, admin bool) (User, error) {
	if username == "" || password == "" {
		return User{}, fmt.Errorf("auth: create user: username and password are required")
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

// Authenticate checks a username and password.
func (s *Store) Authenticate(ctx context.Context, username, password string) (User, bool) {
	k := sha256.Sum256([]byte(username + "\x00" + password))
	s.mu.Lock()
	c, ok := s.cache[k]
	s.mu.Unlock()
	if ok && time.Since(c.at) < cacheTTL {
		return c.user, true
	}
	var u User
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT id, username, is_admin, password_hash FROM users WHERE username = ?`, username).Scan(&u.ID, &u.Username, &u.IsAdmin, &h)
	if err != nil || !verify(h, password) {
		return User{}, false
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[k] = cached{u, time.Now()}
	s.mu.Unlock()
	return u, true
}

func (s *Store) forget() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// UpdatePassword sets a new password.
func (s *Store) UpdatePassword(ctx context.Context, username, password string) error {
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

// RenameModel moves permissions when a registered model is renamed.
func (s *Store) RenameModel(ctx context.Context, from, to string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE registered_model_permissions SET name = ? WHERE name = ?`, to, from)
	return err
}
