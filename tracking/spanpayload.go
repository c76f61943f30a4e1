package tracking

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/dawn-ml/dawn/artifact"
	"github.com/dawn-ml/dawn/internal/httpx"
)

// Large span payloads. A span whose stored JSON (its attributes and events
// with the rest of MLflow's span dictionary) is over SpanPayloadThreshold
// is written whole to the trace's artifact location in the artifact store,
// at spans/<span_id>.json, and the spans row keeps a stub: the same
// dictionary with every attribute cut to a preview, no events, and a
// top-level "dawn.payload" key holding the payload's size and SHA-256.
// Reads (get-trace, batch-get, the trace artifact traces.json) put the
// payload back, so clients never see the stub. When the experiment's
// artifact location is not one the server writes (an s3:// location that
// clients write themselves, or a server without an artifact store), large
// spans stay whole in the row, as they are bounded by MaxSpanBytes. Searches on span
// columns, and on attributes short enough to be kept, still work; a
// pattern inside a long attribute or an event of an offloaded span is not
// found, since the database no longer holds it.
const (
	// SpanPayloadThreshold is the stored size above which a span's
	// payload goes to the artifact store.
	SpanPayloadThreshold = 64 << 10
	// MaxTracePayloadBytes bounds the offloaded payloads of one trace,
	// written and read.
	MaxTracePayloadBytes = 256 << 20
	// spanStubAttrBytes is the longest attribute a stub keeps whole.
	spanStubAttrBytes = 1 << 10
	// payloadKey marks a stub; no span dictionary has a key of that name.
	payloadKey = "dawn.payload"
)

// payloadRef is what a stub records of its payload.
type payloadRef struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// spanPayloadPath is where a span's payload lives under the trace's
// artifact location; span ids are hex, so it names one file.
func spanPayloadPath(base, spanID string) string {
	return spansDir(base) + "/" + spanID + ".json"
}

// spansDir holds a trace's span payloads.
func spansDir(base string) string {
	if base == "" {
		return "spans"
	}
	return base + "/spans"
}

// spanStub returns the row content standing for a span whose payload is
// content: the dictionary's own fields, attributes cut to previews (so the
// root span's request and response previews are unchanged), and the
// payload reference.
func spanStub(content []byte) ([]byte, error) {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(content, &d); err != nil {
		return nil, fmt.Errorf("tracking: span payload: %w", err)
	}
	var attrs map[string]string
	if err := json.Unmarshal(d["attributes"], &attrs); err != nil {
		return nil, fmt.Errorf("tracking: span payload attributes: %w", err)
	}
	kept := make(map[string]string, len(attrs))
	for k, v := range attrs {
		if len(v) > spanStubAttrBytes {
			v = previewOf(v)
		}
		kept[k] = v
	}
	sum := sha256.Sum256(content)
	ref, _ := json.Marshal(payloadRef{Bytes: int64(len(content)), SHA256: hex.EncodeToString(sum[:])})
	d[payloadKey] = ref
	d["events"] = json.RawMessage("[]")
	d["attributes"], _ = json.Marshal(kept)
	stub, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("tracking: span stub: %w", err)
	}
	if len(stub) > SpanPayloadThreshold {
		// Many short attributes: keep only what the previews need.
		keep := map[string]string{}
		for _, k := range []string{"mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.spanType", SpanAttrRequestID} {
			if v, ok := kept[k]; ok {
				keep[k] = v
			}
		}
		d["attributes"], _ = json.Marshal(keep)
		if stub, err = json.Marshal(d); err != nil {
			return nil, fmt.Errorf("tracking: span stub: %w", err)
		}
	}
	return stub, nil
}

// stubRef returns the payload reference of a stub; ok is false for a span
// stored whole. Only a content naming the key is parsed, so small spans
// cost one byte search.
func stubRef(content []byte) (payloadRef, bool) {
	if !bytes.Contains(content, []byte(`"`+payloadKey+`"`)) {
		return payloadRef{}, false
	}
	var s struct {
		Ref *payloadRef `json:"dawn.payload"`
	}
	if json.Unmarshal(content, &s) != nil || s.Ref == nil {
		return payloadRef{}, false
	}
	return *s.Ref, true
}

// offloadSpans writes the payloads of the spans over the threshold to the
// trace's artifact location and replaces their content with stubs. Spans
// under it, nearly all of them, cost a length check.
func (a *api) offloadSpans(ctx context.Context, experimentID, traceID string, spans []Span) error {
	large := 0
	for _, sp := range spans {
		if len(sp.Content) > SpanPayloadThreshold {
			large++
		}
	}
	if large == 0 {
		return nil
	}
	repo, base, err := a.tracePayloadRepo(ctx, experimentID, traceID, "write")
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return nil // not a location the server writes: the spans stay whole
		}
		return err
	}
	ents, err := repo.List(ctx, spansDir(base))
	if err != nil {
		return fmt.Errorf("tracking: list span payloads of trace %s: %w", traceID, err)
	}
	var total int64
	for _, e := range ents {
		total += e.Size
	}
	for i, sp := range spans {
		if len(sp.Content) <= SpanPayloadThreshold {
			continue
		}
		total += int64(len(sp.Content))
		if total > MaxTracePayloadBytes {
			return httpx.Errorf(http.StatusRequestEntityTooLarge, CodeInvalidParameterValue,
				"Trace %s: its large span payloads exceed the limit of %d bytes", traceID, MaxTracePayloadBytes)
		}
		stub, err := spanStub(sp.Content)
		if err != nil {
			return err
		}
		if err := repo.Put(ctx, spanPayloadPath(base, sp.SpanID), bytes.NewReader(sp.Content)); err != nil {
			return fmt.Errorf("tracking: store payload of span %s of trace %s: %w", sp.SpanID, traceID, err)
		}
		spans[i].Content = stub
	}
	return nil
}

// restoreSpans puts the payloads of a trace's stubs back in place.
func (a *api) restoreSpans(ctx context.Context, info *TraceInfo, spans []Span) error {
	var (
		repo  artifact.Repo
		base  string
		total int64
	)
	for i, sp := range spans {
		ref, ok := stubRef(sp.Content)
		if !ok {
			continue
		}
		if repo == nil {
			r, b, err := a.tracePayloadRepo(ctx, info.ExperimentID, info.TraceID, "read")
			if err != nil {
				return err
			}
			repo, base = r, b
		}
		total += ref.Bytes
		if total > MaxTracePayloadBytes || ref.Bytes > MaxSpanBytes {
			return httpx.Errorf(http.StatusRequestEntityTooLarge, CodeInvalidParameterValue,
				"Trace %s: its large span payloads exceed the limit of %d bytes", info.TraceID, MaxTracePayloadBytes)
		}
		p := spanPayloadPath(base, sp.SpanID)
		rc, _, err := repo.Open(ctx, p)
		if err != nil {
			return fmt.Errorf("tracking: payload of span %s of trace %s: %w", sp.SpanID, info.TraceID, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, ref.Bytes+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("tracking: read payload of span %s of trace %s: %w", sp.SpanID, info.TraceID, err)
		}
		sum := sha256.Sum256(b)
		if int64(len(b)) != ref.Bytes || hex.EncodeToString(sum[:]) != ref.SHA256 {
			return fmt.Errorf("tracking: payload of span %s of trace %s at %s does not match its record (%d bytes)", sp.SpanID, info.TraceID, p, len(b))
		}
		spans[i].Content = b
	}
	return nil
}

// tracePayloadRepo is the artifact repo and base path of a trace's
// artifact location, worked out from its experiment (not from the trace's
// tags, which clients may set).
func (a *api) tracePayloadRepo(ctx context.Context, experimentID, traceID, verb string) (artifact.Repo, string, error) {
	exp, err := a.store.GetExperiment(ctx, experimentID)
	if err != nil {
		return nil, "", err
	}
	return a.artifactRepo(TraceArtifactLocation(exp.ArtifactLocation, traceID), verb)
}
