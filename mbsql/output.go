package mbsql

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dawn-ml/dawn/explain"
)

// JavaDouble formats v as Java's Double.toString does (shortest digits;
// decimal between 1e-3 and 1e7, else d.dddE±n; "Infinity"; "NaN"), so
// output files match MacroBase's byte for byte.
func JavaDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1)
	if v >= 1e-3 && v < 1e7 {
		if exp >= 0 {
			for len(digits) < exp+2 {
				digits += "0"
			}
			return sign + digits[:exp+1] + "." + digits[exp+1:]
		}
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	return sign + digits[:1] + "." + frac + "E" + strconv.Itoa(exp)
}

func cell(c *explain.FrameColumn, i int) string {
	if c.Num != nil {
		return JavaDouble(c.Num[i])
	}
	s, _ := c.Str.Value(i)
	return s
}

// WriteCSV writes f with a header row; nulls are empty cells.
func WriteCSV(w io.Writer, f *explain.Frame, delim rune) error {
	cw := csv.NewWriter(w)
	cw.Comma = delim
	rec := make([]string, len(f.Cols))
	for i, c := range f.Cols {
		rec[i] = c.Name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for r := 0; r < f.Rows; r++ {
		for i := range f.Cols {
			rec[i] = cell(&f.Cols[i], r)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes f as an aligned text table, at most maxRows rows
// (0: all), with nulls shown as "null" and numbers as people read them
// (explain.HumanNumber; WriteCSV keeps MacroBase's exact digits).
func WriteTable(w io.Writer, f *explain.Frame, maxRows int) error {
	bw := bufio.NewWriter(w)
	n := f.Rows
	if maxRows > 0 && n > maxRows {
		n = maxRows
	}
	cells := make([][]string, n+1)
	width := make([]int, len(f.Cols))
	cells[0] = make([]string, len(f.Cols))
	for i, c := range f.Cols {
		cells[0][i] = c.Name
		width[i] = utf8.RuneCountInString(c.Name)
	}
	for r := 0; r < n; r++ {
		cells[r+1] = make([]string, len(f.Cols))
		for i := range f.Cols {
			s := cell(&f.Cols[i], r)
			if c := &f.Cols[i]; c.Num != nil {
				s = explain.HumanNumber(c.Num[r])
			}
			if isNull(&f.Cols[i], r) {
				s = "null"
			}
			cells[r+1][i] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	for r, row := range cells {
		for i, s := range row {
			if i > 0 {
				bw.WriteString("  ")
			}
			pad := width[i] - utf8.RuneCountInString(s)
			if f.Cols[i].Num != nil && r > 0 {
				bw.WriteString(strings.Repeat(" ", pad) + s)
			} else if i < len(row)-1 {
				bw.WriteString(s + strings.Repeat(" ", pad))
			} else {
				bw.WriteString(s)
			}
		}
		bw.WriteByte('\n')
		if r == 0 {
			for i := range row {
				if i > 0 {
					bw.WriteString("  ")
				}
				bw.WriteString(strings.Repeat("-", width[i]))
			}
			bw.WriteByte('\n')
		}
	}
	if n < f.Rows {
		fmt.Fprintf(bw, "(%d of %d rows)\n", n, f.Rows)
	} else {
		fmt.Fprintf(bw, "(%d rows)\n", f.Rows)
	}
	return bw.Flush()
}
