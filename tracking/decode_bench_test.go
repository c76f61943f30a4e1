package tracking

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkDecodeLogBatch decodes a 1000-metric log-batch body.
func BenchmarkDecodeLogBatch(b *testing.B) {
	ms := make([]map[string]any, 1000)
	for i := range ms {
		ms[i] = map[string]any{"key": fmt.Sprintf("m%d", i%10), "value": float64(i) / 7, "timestamp": 1700000000000 + i, "step": i}
	}
	body, _ := json.Marshal(map[string]any{"run_id": "0123456789abcdef0123456789abcdef", "metrics": ms})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var r logBatchReq
		if err := DecodeJSON(body, &r); err != nil || len(r.Metrics) != 1000 {
			b.Fatal(err)
		}
	}
}
