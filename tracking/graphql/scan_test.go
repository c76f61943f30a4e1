package graphql

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestScanCounts(t *testing.T) {
	for _, c := range []struct {
		name, doc      string
		roots, aliases int
	}{
		{"one field", `{ test(inputString: "a") { output } }`, 1, 0},
		{"named operation with directive", `query q($id: String = "1") @component(name: "T") { a: test { output } b: test { output } }`, 2, 2},
		{"aliases counted per set", `{ x: mlflowGetRun(input: {runId: "r"}) { run { a: info { status } b: info { status } c: data { tags { key } } } } }`, 1, 3},
		{"inline fragment fields belong to the enclosing set", `{ ... on Query { a: test { output } b: test { output } } c: test { output } }`, 3, 3},
		{"fragment definitions count as MLflow counts them", `query { ...F } fragment F on Query { test { output } test2: test { output } }`, 2, 1},
		{"strings, block strings, comments and commas", "{ test(inputString: \"}{\\\"\") { output } # }\n, t2: test(inputString: \"\"\"a } \\\"\"\" b\"\"\") { output } }", 2, 1},
		{"nested values", `{ mlflowSearchRuns(input: {experimentIds: ["1", "2"], orderBy: [], maxResults: -1, filter: "x"}) { runs { info { runId } } } }`, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := scan(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if info.rootFields != c.roots || info.maxAliases != c.aliases {
				t.Errorf("roots %d aliases %d, want %d and %d", info.rootFields, info.maxAliases, c.roots, c.aliases)
			}
		})
	}
}

func nest(n int) string {
	s := "name"
	for range n {
		s = "name { " + s + " }"
	}
	return s
}

func TestScanRefuses(t *testing.T) {
	many := make([]string, 1002)
	for i := range many {
		many[i] = fmt.Sprintf("f%d { name }", i)
	}
	for _, c := range []struct{ name, doc, want string }{
		// MLflow's depth: the operation's set is 1; ten sets are allowed.
		{"depth 11", "{ " + nest(10) + " }", "Query exceeds maximum depth of 10"},
		{"inline fragments count as depth", "{ " + strings.Repeat("... { ", 10) + "a" + strings.Repeat(" }", 10) + " }", "Query exceeds maximum depth of 10"},
		{"1002 selections", "{ e { " + strings.Join(many, " ") + " } }", "Query exceeds maximum total selections of 1000"},
		{"value nesting", "{ a(x: " + strings.Repeat("[", 65) + strings.Repeat("]", 65) + ") }", "Query nests values deeper than 64"},
		{"empty document", "  # nothing\n", "Syntax Error: Unexpected <EOF>."},
		{"unclosed set", "{ a { b }", "Syntax Error: Unexpected <EOF>."},
		{"empty set", "{ }", `Syntax Error: Unexpected "}" at offset 2.`},
		{"unbalanced arguments", "{ a(x: [1}) }", `Syntax Error: Unexpected "}" at offset 9.`},
		{"unterminated string", `{ a(x: "abc) }`, "Syntax Error: Unterminated string at offset 7."},
		{"bad number", "{ a(x: 012) }", "Syntax Error: Invalid number at offset 7."},
		{"stray character", "{ a ? }", `Syntax Error: Unexpected character '?' at offset 4.`},
		{"type definition", "type Query { a: String }", `Syntax Error: Unexpected Name "type" at offset 0: only operations and fragments may be sent.`},
		{"fragment named on", "fragment on on Query { a }", `Syntax Error: Unexpected "on" at offset 9.`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := scan(c.doc)
			if err == nil || err.Error() != c.want {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	// Ten levels pass.
	if _, err := scan("{ " + nest(9) + " }"); err != nil {
		t.Errorf("depth 10: %v", err)
	}
}

// TestCheckMessages: MLflow's words for the root-field and alias bounds,
// root fields checked first.
func TestCheckMessages(t *testing.T) {
	h, err := NewHandler(Options{API: http.NotFoundHandler(), MaxAliases: 3})
	if err != nil {
		t.Fatal(err)
	}
	fields := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "k%d: test { output } ", i)
		}
		return b.String()
	}
	for _, c := range []struct{ doc, want string }{
		{"{ " + fields(12) + "}", "GraphQL queries should have at most 10 root fields, got 12 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable."},
		{"{ " + fields(4) + "}", "GraphQL queries should have at most 3 aliases, got 4 aliases. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ALIASES environment variable."},
		{"{ " + fields(3) + "}", ""},
	} {
		if got := h.check(c.doc); got != c.want {
			t.Errorf("check(%.30q) = %q, want %q", c.doc, got, c.want)
		}
	}
}

// FuzzScan: the scanner never panics, and what it accepts is within its
// bounds.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{ test(inputString: "a") { output } }`,
		`query q($v: [String] = ["a"]) @component(name: "T") { a: mlflowGetRun(input: {runId: $v}) { run { info { status } } } }`,
		`mutation { mlflowSearchRuns(input: {experimentIds: ["1"]}) { runs { ...R } } } fragment R on MlflowRunExtension { info { runId } }`,
		"{ a(x: \"\"\"block \\\"\"\" \"\"\", y: -1.5e3) { ... on T { b } } }",
		"\uFEFF# c\n{a}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		info, err := scan(doc)
		if err != nil {
			if _, ok := err.(*limitError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if info.rootFields > MaxSelections || info.maxAliases > MaxSelections {
			t.Fatalf("accepted %+v past the selection bound", info)
		}
	})
}
