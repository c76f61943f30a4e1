// Package javarand reproduces java.util.Random: the same seed gives the same
// sequence of ints and doubles as the JDK, so dawn can draw the same random
// starts, reservoir replacements and shuffles as MacroBase does.
package javarand

const (
	multiplier = 0x5DEECE66D
	addend     = 0xB
	mask       = 1<<48 - 1
)

// Random is java.util.Random's 48-bit linear congruential generator.
type Random struct{ seed int64 }

// New returns a generator seeded as new java.util.Random(seed).
func New(seed int64) *Random { return &Random{seed: (seed ^ multiplier) & mask} }

func (r *Random) next(bits uint) int32 {
	r.seed = (r.seed*multiplier + addend) & mask
	return int32(r.seed >> (48 - bits))
}

// Int is nextInt(): 32 random bits as a signed int.
func (r *Random) Int() int32 { return r.next(32) }

// Intn is nextInt(bound), uniform in [0, bound); bound must be positive.
func (r *Random) Intn(bound int32) int32 {
	if bound <= 0 {
		panic("javarand: bound must be positive")
	}
	if bound&(-bound) == bound {
		return int32((int64(bound) * int64(r.next(31))) >> 31)
	}
	for {
		bits := r.next(31)
		val := bits % bound
		if bits-val+(bound-1) >= 0 { // no int32 overflow: not from the biased tail
			return val
		}
	}
}

// Float64 is nextDouble(), uniform in [0, 1) with 53 random bits.
func (r *Random) Float64() float64 {
	return float64(int64(r.next(26))<<27+int64(r.next(27))) * (1.0 / (1 << 53))
}

// Shuffle permutes s as Collections.shuffle(list, random) does for a
// random-access list.
func Shuffle[T any](s []T, r *Random) {
	for i := len(s); i > 1; i-- {
		j := r.Intn(int32(i))
		s[i-1], s[j] = s[j], s[i-1]
	}
}
