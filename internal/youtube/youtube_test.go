package youtube

import (
	"os"
	"testing"
)

func TestLoadTutorialSplit(t *testing.T) {
	dir := Dir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("YouTube data not found at %s (set DAWN_DATA): %v", dir, err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Class counts from PROVENANCE.md: Shakira has 174 spam of 370; the
	// stratified test split keeps 250 of them.
	spam := 0
	for _, r := range append(append([][]string{}, s.Valid...), s.Test...) {
		if r[4] == "1" {
			spam++
		}
		if r[5] != "5" {
			t.Fatalf("valid/test row from video %s, want Shakira (5)", r[5])
		}
	}
	if spam != 174 {
		t.Fatalf("valid+test spam %d, want 174", spam)
	}
	// The first train row in tutorial order is Psy's csv row 142.
	if s.Train[0][0] != "z13ky1cgzpjpvdpp004chhebvqnkhnpjmzo0k" {
		t.Fatalf("first train row %v", s.Train[0][:2])
	}
}
