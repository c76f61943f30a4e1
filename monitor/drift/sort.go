package drift

import (
	"math"
	"slices"
)

// radixMin is the length from which Sort uses the radix sort.
const radixMin = 1 << 12

// Sort sorts xs ascending (no NaNs allowed). Large slices are sorted by an
// LSD radix sort on the order-preserving integer image of each float (four
// 16-bit digits), which is several times faster than a comparison sort on
// the million-value windows monitors check; it needs one scratch slice of
// the same length.
func Sort(xs []float64) {
	if len(xs) < radixMin {
		slices.Sort(xs)
		return
	}
	keys := make([]uint64, len(xs))
	for i, x := range xs {
		b := math.Float64bits(x)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	tmp := make([]uint64, len(xs))
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&0xffff]++
		}
		// Skip a pass where every key has the same digit.
		if count[(keys[0]>>shift)&0xffff] == len(keys) {
			continue
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range keys {
			d := (k >> shift) & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, b := range keys {
		if b>>63 == 1 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		xs[i] = math.Float64frombits(b)
	}
}
