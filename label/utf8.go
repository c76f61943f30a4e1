package label

import "unicode/utf8"

// utf8Decode and utf8DecodeLast take the ASCII fast path inline; most text
// around keyword matches is ASCII.
func utf8Decode(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

func utf8DecodeLast(s string) (rune, int) {
	if c := s[len(s)-1]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeLastRuneInString(s)
}
