package video

import (
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Query
	}{
		{"SELECT frame FROM video WHERE count(person) >= 6", Query{Kind: Select, Object: "person", Source: "video", Op: ">=", Value: 6}},
		{"select frame from video where count(car) < 2 accuracy 99%;", Query{Kind: Select, Object: "car", Source: "video", Op: "<", Value: 2, Accuracy: 0.99}},
		{"SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 AT CONFIDENCE 95%", Query{Kind: Aggregate, Object: "person", Source: "video", ErrorWithin: 0.1, Confidence: 0.95}},
		{"SELECT AVG(count(person)) FROM video ERROR WITHIN 0.5", Query{Kind: Aggregate, Object: "person", Source: "video", ErrorWithin: 0.5, Confidence: 0.95}},
		{"SELECT frame FROM video WHERE count(person) >= 7 LIMIT 10", Query{Kind: Limit, Object: "person", Source: "video", Op: ">=", Value: 7, N: 10}},
	} {
		q, err := ParseQuery(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if *q != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.in, *q, tc.want)
		}
	}
	for in, want := range map[string]string{
		"":                                     "expected SELECT",
		"SELECT frame FROM video":              "needs WHERE",
		"SELECT AVG(count(person)) FROM video": "ERROR WITHIN",
		"SELECT frame FROM video WHERE count(p) ~ 3":                 "unexpected character",
		"SELECT frame FROM video WHERE count(p) >= 2.5":              "whole number",
		"SELECT frame FROM video WHERE count(p) >= 2 LIMIT 0":        "LIMIT",
		"SELECT frame FROM video WHERE count(p) >= 2 ERROR WITHIN 1": "AVG",
	} {
		if _, err := ParseQuery(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", in, err, want)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("SELECT frame FROM video WHERE count(person) >= 6 LIMIT 10")
	f.Add("SELECT AVG(count(person)) FROM video ERROR WITHIN 0.1 AT CONFIDENCE 95%")
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			return
		}
		if q.Kind == "" || (q.Kind != Aggregate && q.Op == "") || (q.Kind == Aggregate && q.ErrorWithin <= 0) {
			t.Fatalf("%q parsed to an incomplete query %+v", s, q)
		}
		_ = q.Holds(3)
	})
}
