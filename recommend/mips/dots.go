package mips

// dots32 sets out[i] to the float32 inner product of q with the i-th row of
// rows (len(out) rows of stride len(q), len(q) a multiple of 8), summed in
// float32 in some order: it only feeds a pruning bound (see filterBound),
// which holds for any order of summation.
func dots32(q, rows, out []float32) {
	f := len(q)
	if len(out) == 0 {
		return
	}
	_ = rows[len(out)*f-1]
	if useAVX2 {
		dots32AVX2(&q[0], &rows[0], f, len(out), &out[0])
		return
	}
	dots32Go(q, rows, out)
}

// dots32Go is dots32 in plain Go, eight running sums a row.
func dots32Go(q, rows, out []float32) {
	f := len(q)
	for i := range out {
		r := rows[i*f : (i+1)*f : (i+1)*f]
		var s0, s1, s2, s3, s4, s5, s6, s7 float32
		for j := 0; j+8 <= f; j += 8 {
			a, b := q[j:j+8:j+8], r[j:j+8:j+8]
			s0 += a[0] * b[0]
			s1 += a[1] * b[1]
			s2 += a[2] * b[2]
			s3 += a[3] * b[3]
			s4 += a[4] * b[4]
			s5 += a[5] * b[5]
			s6 += a[6] * b[6]
			s7 += a[7] * b[7]
		}
		out[i] = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	}
}
