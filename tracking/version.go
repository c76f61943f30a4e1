package tracking

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MLflowVersion is the MLflow release whose wire protocol dawn's server
// speaks; GET /version answers it. MLflow 3 clients parse the answer as a
// PEP 440 version and turn features off below a threshold (OTLP span
// logging needs 3.4 or newer), so answering dawn's own version ("dev",
// "v0.1.0") would switch them off.
const MLflowVersion = "3.6.0"

// pep440 is the canonical public version scheme of PEP 440, appendix B.
var pep440 = regexp.MustCompile(`^([1-9][0-9]*!)?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*((a|b|rc)(0|[1-9][0-9]*))?(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?$`)

// CheckServerVersion reports whether v may be answered at /version: a
// canonical PEP 440 version of at least 3.4 (the oldest MLflow server the
// MLflow 3 client sends spans to).
func CheckServerVersion(v string) error {
	if !pep440.MatchString(v) {
		return fmt.Errorf("tracking: server version %q is not a canonical PEP 440 version such as %s", v, MLflowVersion)
	}
	if strings.Contains(v, "!") {
		return nil // an epoch sorts after every version without one
	}
	parts := strings.SplitN(v, ".", 3)
	major, _ := strconv.Atoi(leadingDigits(parts[0]))
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(leadingDigits(parts[1]))
	}
	if major < 3 || (major == 3 && minor < 4) {
		return fmt.Errorf("tracking: server version %q is older than 3.4; MLflow 3 clients would not send traces to it", v)
	}
	return nil
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
