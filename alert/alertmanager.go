package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// PostAlertmanager sends alerts to an Alertmanager's POST /api/v2/alerts
// (base is its URL, e.g. http://127.0.0.1:9093). Alertmanager does its own
// grouping, so the alerts go as they are; a resolved alert carries its
// EndsAt. A 4xx is the caller's mistake and is returned with the body.
func PostAlertmanager(ctx context.Context, client *http.Client, base string, alerts []Alert) error {
	type amAlert struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations,omitempty"`
		StartsAt     string            `json:"startsAt,omitempty"`
		EndsAt       string            `json:"endsAt,omitempty"`
		GeneratorURL string            `json:"generatorURL,omitempty"`
	}
	out := make([]amAlert, len(alerts))
	for i, a := range alerts {
		out[i] = amAlert{Labels: a.Labels, Annotations: a.Annotations, GeneratorURL: a.GeneratorURL}
		if !a.StartsAt.IsZero() {
			out[i].StartsAt = a.StartsAt.UTC().Format(time.RFC3339Nano)
		}
		if !a.EndsAt.IsZero() {
			out[i].EndsAt = a.EndsAt.UTC().Format(time.RFC3339Nano)
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("alert: alertmanager: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("alert: alertmanager: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("alert: alertmanager: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("alert: alertmanager %s answered %d: %s", base, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
