// Package httpx holds the small HTTP helpers dawn's JSON services share: an
// error type that carries an HTTP status and an MLflow-style error_code, and
// JSON writing that never leaks internal detail to clients.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is a failure that is safe to show to an HTTP client: Status is the
// HTTP status, Code the machine-readable error_code, Message the text.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error // the cause, for logs; never sent to the client
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Body is the JSON error body: {"error_code": ..., "message": ...}.
type Body struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteError(w, &Error{Status: 500, Code: "INTERNAL_ERROR", Message: "encoding response failed", Err: err})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// WriteError writes err as {"error_code","message"}. An error that is not an
// *Error becomes a 500 INTERNAL_ERROR whose message hides the detail.
func WriteError(w http.ResponseWriter, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = &Error{Status: 500, Code: "INTERNAL_ERROR", Message: "internal error", Err: err}
	}
	b, _ := json.Marshal(Body{ErrorCode: he.Code, Message: he.Message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(he.Status)
	w.Write(b)
}
