package label

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dawn-ml/dawn/data"
)

// Regex LFs behind the literal prefilter vote exactly where the regex
// matches, and keyword LFs exactly where a naive whole-word search finds
// the keyword.
func TestScanAgainstNaive(t *testing.T) {
	regexes := []string{`check.*out`, `(?i)check.*out`, `(?i)channel`, `https?://|www\.`, `\$[0-9]+|money|cash`,
		`(?i)(free|win) (iphone|prize)`, `[0-9]{3}`, `(?i)sub(scribe)?`, `\bmy\b`, `^[A-Z]`, `Kiss`, `(?i)kiss`, `(?i)SS`}
	words := []string{"check", "out", "Check", "OUT", "channel", "CHANNEL", "http://", "https://x", "www.", "$5", "money", "cash",
		"free", "win", "iphone", "prize", "123", "sub", "subscribe", "my", "army", "kiss", "KISS", "ſ", "K", "s", "é", "Éte", " ", ",", "-"}
	rng := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("T\n")
	var texts []string
	for i := 0; i < 3000; i++ {
		var parts []string
		for j := 0; j < rng.IntN(7); j++ {
			parts = append(parts, words[rng.IntN(len(words))])
		}
		sep := []string{" ", "", ", "}[rng.IntN(3)]
		txt := strings.Join(parts, sep)
		texts = append(texts, txt)
		fmt.Fprintf(&csv, "%q\n", txt)
	}
	os.WriteFile(filepath.Join(dir, "t.csv"), []byte(csv.String()), 0o644)
	kws := []string{"my", "check out", "é", "éte", "Kiss", "$5"}
	var y strings.Builder
	y.WriteString("labels: [a, b]\ntext: T\nlfs:\n")
	for i, r := range regexes {
		fmt.Fprintf(&y, "  - name: r%d\n    regex: '%s'\n    label: b\n", i, r)
	}
	for i, k := range kws {
		fmt.Fprintf(&y, "  - name: k%d\n    keywords: [%q]\n    label: a\n", i, k)
	}
	fmt.Fprintf(&y, "  - name: cs\n    keywords: [Kiss]\n    case_sensitive: true\n    label: a\n")
	fmt.Fprintf(&y, "  - name: sub\n    keywords: [sub]\n    match: substring\n    label: a\n")
	os.WriteFile(filepath.Join(dir, "lfs.yaml"), []byte(y.String()), 0o644)
	x := applyFile(t, filepath.Join(dir, "lfs.yaml"), filepath.Join(dir, "t.csv"))
	wordMatch := func(text, kw string, fold bool) bool {
		if fold {
			text, kw = strings.ToLower(text), strings.ToLower(kw)
		}
		for s := 0; s+len(kw) <= len(text); s++ {
			if text[s:s+len(kw)] != kw {
				continue
			}
			re := regexp.MustCompile(`^[\p{L}\p{N}_]`)
			before, after := text[:s], text[s+len(kw):]
			okB := before == "" || !re.MatchString(string([]rune(before)[len([]rune(before))-1]))
			okA := after == "" || !re.MatchString(after)
			if !isWordRune([]rune(kw)[0]) {
				okB = true
			}
			if !isWordRune([]rune(kw)[len([]rune(kw))-1]) {
				okA = true
			}
			if okB && okA {
				return true
			}
		}
		return false
	}
	for i, txt := range texts {
		for j, r := range regexes {
			want := regexp.MustCompile(r).MatchString(txt)
			if got := x.At(i, j) == 1; got != want {
				t.Fatalf("regex %q on %q: voted %v, regexp says %v", r, txt, got, want)
			}
		}
		for j, k := range kws {
			want := wordMatch(txt, k, true)
			if got := x.At(i, len(regexes)+j) == 0; got != want {
				t.Fatalf("keyword %q on %q: voted %v, want %v", k, txt, got, want)
			}
		}
		if got, want := x.At(i, len(regexes)+len(kws)) == 0, wordMatch(txt, "Kiss", false); got != want {
			t.Fatalf("case-sensitive Kiss on %q: voted %v want %v", txt, got, want)
		}
		if got, want := x.At(i, len(regexes)+len(kws)+1) == 0, strings.Contains(strings.ToLower(txt), "sub"); got != want {
			t.Fatalf("substring sub on %q: voted %v want %v", txt, got, want)
		}
	}
	_ = context.Background
	_ = data.Options{}
}
