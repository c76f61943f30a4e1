package tracking

import (
	"reflect"
	"strings"
	"testing"
)

// logBatchBodies are log-batch bodies for the fast decoder: the shapes it
// takes and the ones it must leave to the general decoder.
var logBatchBodies = []string{
	`{"run_id":"r1","metrics":[{"key":"a","value":0.5,"timestamp":10,"step":2},{"key":"b","value":-1e3,"timestamp":11}]}`,
	` { "run_id" : "r1" , "metrics" : [ { "step" : 3 , "key" : "a" , "timestamp" : 1 , "value" : 7 } ] , "params" : [ ] , "tags" : [] } `,
	`{"run_id":"r1","metrics":[],"params":null,"tags":null}`,
	`{"metrics":[{"key":"a","value":1,"timestamp":1}],"run_id":"r1"}`,
	`{"run_id":"r1","metrics":[{"key":"a","value":1}]}`,                            // no timestamp: ValidateBatch reports it
	`{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1,"run_id":"x"}]}`, // a point's own run_id
	`{}`,
	`{"run_id":"r1","metrics":null}`,
	`{"run_id":"r1","params":[{"key":"p","value":"1"}]}`,                                 // params: general path
	`{"run_id":"r1","tags":[{"key":"t","value":"v"}],"metrics":[]}`,                      // tags: general path
	`{"run_id":"r\u0031","metrics":[]}`,                                                  // escape
	`{"run_id":"r1","metrics":[{"key":"a\u0000","value":1,"timestamp":1}]}`,              // NUL escape: 400
	`{"run_id":"r1","metrics":[{"Key":"a","value":1,"timestamp":1}]}`,                    // folded key: 400
	`{"RUN_ID":"r1","metrics":[]}`,                                                       // folded key: 400
	`{"run_id":"r1","run_id":"r2","metrics":[]}`,                                         // duplicate: the last wins
	`{"run_id":"r1","metrics":[{"key":"a","value":"1","timestamp":1}]}`,                  // a string number
	`{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1.5}]}`,                  // not an integer: 400
	`{"run_id":"r1","metrics":[{"key":"a","value":+1,"timestamp":1}]}`,                   // not JSON: 400
	`{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1}],}`,                   // trailing comma: 400
	`{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1}]} {}`,                 // data after: 400
	`{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1}`,                      // truncated: 400
	`{"run_id":"r1","metrics":{"key":"a"}}`,                                              // not a list: 400
	`{"run_id":"r1","metrics":[{"key":"a","value":1,"timestamp":1,"dataset_name":"d"}]}`, // other fields: general path
	`{"run_id":"r1","metrics":[null]}`,
	`{"run_id":"r1","extra":1,"metrics":[]}`, // unknown field: ignored (general path)
	`[]`,
	`null`,
}

// TestLogBatchFastMatchesGeneral: whenever the fast decoder takes a body it
// gives what the general decoder gives, and DecodeJSON's answer (value or
// error) is the general decoder's for every body.
func TestLogBatchFastMatchesGeneral(t *testing.T) {
	took := 0
	for _, body := range logBatchBodies {
		var general, fast, viaDecode logBatchReq
		gerr := decodeJSONGeneral([]byte(body), &general)
		if fast.decodeFast([]byte(body)) {
			took++
			if gerr != nil {
				t.Errorf("%s: fast path took a body the general decoder rejects (%v)", body, gerr)
			} else if !reflect.DeepEqual(fast, general) {
				t.Errorf("%s: fast %+v, general %+v", body, fast, general)
			}
		} else if !reflect.DeepEqual(fast, logBatchReq{}) {
			t.Errorf("%s: fast path refused but changed the request: %+v", body, fast)
		}
		derr := DecodeJSON([]byte(body), &viaDecode)
		if (derr == nil) != (gerr == nil) || (derr != nil && derr.Error() != gerr.Error()) {
			t.Errorf("%s: DecodeJSON error %v, general %v", body, derr, gerr)
		}
		if gerr == nil && !reflect.DeepEqual(viaDecode, general) {
			t.Errorf("%s: DecodeJSON %+v, general %+v", body, viaDecode, general)
		}
	}
	if took < 7 {
		t.Errorf("the fast path took %d of the bodies, want at least the 7 plain ones", took)
	}
	// The hand-computed answer for the first body.
	var r logBatchReq
	if !r.decodeFast([]byte(logBatchBodies[0])) || r.RunID != "r1" || len(r.Metrics) != 2 ||
		r.Metrics[1].Key != "b" || r.Metrics[1].Value != -1000 || r.Metrics[1].Timestamp != 11 || r.Metrics[0].Step != 2 {
		t.Fatalf("decodeFast = %+v", r)
	}
	if err := ValidateBatch(r.Metrics, r.Params, r.Tags); err != nil {
		t.Fatal(err)
	}
	if !r.decodeFast([]byte(logBatchBodies[4])) {
		t.Fatal("fast path refused a metric without timestamp")
	}
	if err := ValidateBatch(r.Metrics, nil, nil); err == nil || !strings.Contains(err.Error(), "metrics[0].timestamp") {
		t.Fatalf("missing timestamp: %v", err)
	}
}

// FuzzLogBatchFast: the fast decoder never disagrees with the general one.
func FuzzLogBatchFast(f *testing.F) {
	for _, b := range logBatchBodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var general, fast logBatchReq
		gerr := decodeJSONGeneral([]byte(body), &general)
		if !fast.decodeFast([]byte(body)) {
			return
		}
		if gerr != nil {
			t.Fatalf("%q: fast path took a body the general decoder rejects (%v)", body, gerr)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Fatalf("%q: fast %+v, general %+v", body, fast, general)
		}
	})
}
