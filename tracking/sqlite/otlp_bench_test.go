package sqlite_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/dawn-ml/dawn/tracking"
	"github.com/dawn-ml/dawn/tracking/sqlite"
	"github.com/dawn-ml/dawn/tracking/sqlstore"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// BenchmarkOTLPIngest measures 10,000 spans per iteration through POST
// /v1/traces (binary OTLP, as MLflow's client sends) into a SQLite store,
// HTTP included: perRequest spans of one trace per request, each span with
// three attributes (spans/s = 10,000 / (s/op)).
func BenchmarkOTLPIngest(b *testing.B) {
	for _, perRequest := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("spans-per-request=%d", perRequest), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "b.db"), sqlstore.Options{ArtifactRoot: tracking.ProxyScheme})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			srv := httptest.NewServer(tracking.NewHandler(tracking.Options{Store: s}))
			defer srv.Close()
			const total = 10_000
			var traceN uint64
			for b.Loop() {
				for sent := 0; sent < total; sent += perRequest {
					traceN++
					body := otlpBody(traceN, perRequest)
					req, _ := http.NewRequest("POST", srv.URL+"/v1/traces", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/x-protobuf")
					req.Header.Set("X-Mlflow-Experiment-Id", "0")
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			}
			b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// otlpBody is an export of n spans of trace t: a root and its children.
func otlpBody(t uint64, n int) []byte {
	tid := make([]byte, 16)
	binary.BigEndian.PutUint64(tid[8:], t)
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	ss := &tracepb.ScopeSpans{}
	for i := range n {
		sid := make([]byte, 8)
		binary.BigEndian.PutUint64(sid, uint64(i+1))
		sp := &tracepb.Span{TraceId: tid, SpanId: sid, Name: fmt.Sprintf("span-%d", i), StartTimeUnixNano: uint64(1e18) + uint64(i)*1000,
			EndTimeUnixNano: uint64(1e18) + uint64(i)*1000 + 500, Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
			Attributes: []*commonpb.KeyValue{{Key: "mlflow.spanType", Value: str("LLM")}, {Key: "mlflow.spanInputs", Value: str(`{"q": "what is 2+2?"}`)},
				{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(i)}}}}}
		if i > 0 {
			sp.ParentSpanId = []byte{0, 0, 0, 0, 0, 0, 0, 1}
		}
		ss.Spans = append(ss.Spans, sp)
	}
	body, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{ss}}}})
	return body
}
