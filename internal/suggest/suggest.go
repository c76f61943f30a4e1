// Package suggest finds the intended word behind a typo, for "did you
// mean …?" hints in error messages.
package suggest

import "strings"

// Closest returns the candidate nearest to word: an exact match ignoring
// case first, else the one at the smallest edit distance (Levenshtein,
// ignoring case) when that distance is at most 2 and below half of word's
// length. ok is false when no candidate is close enough.
func Closest(word string, candidates []string) (best string, ok bool) {
	lw := strings.ToLower(word)
	for _, c := range candidates {
		if strings.ToLower(c) == lw {
			return c, true
		}
	}
	bestD := -1
	for _, c := range candidates {
		d := distance(lw, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > 2 || 2*bestD >= len([]rune(word)) {
		return "", false
	}
	return best, true
}

// Hint returns " (did you mean "X"?)" for the closest candidate, or "".
func Hint(word string, candidates []string) string {
	if c, ok := Closest(word, candidates); ok && c != word {
		return ` (did you mean "` + c + `"?)`
	}
	return ""
}

// distance is the Levenshtein distance between a and b, over runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
