package model

import "strconv"

// ClassID maps a label to a class id: by name, else (when no class has that
// name) as an integer id 0..k-1, so gold columns holding 0/1 work with
// classes named HAM, SPAM or taken from probability columns.
func ClassID(label string, byName map[string]int, k int) (int, bool) {
	if id, ok := byName[label]; ok {
		return id, true
	}
	if v, err := strconv.Atoi(label); err == nil && v >= 0 && v < k {
		return v, true
	}
	return 0, false
}
