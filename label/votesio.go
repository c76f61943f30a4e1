package label

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// VotesOptions tell ReadVotes what a foreign vote matrix does not carry.
type VotesOptions struct {
	// Classes names the class ids 0..k-1. Without it: a Wrench file's
	// label.json beside it, else "0".."k-1" with k one more than the
	// largest vote (at least 2).
	Classes []string
}

// MaxVoteCells bounds a foreign vote matrix (rows × LFs) read into
// memory: 1<<28 cells, 256M.
const MaxVoteCells = 1 << 28

// ReadVotes reads a vote matrix by extension: dawn's votes Parquet
// (.parquet, from 'dawn label apply'); a dense CSV or TSV (.csv, .tsv: a
// header of LF names, then one row per data row, each cell a class id, a
// class name, or -1 or empty for abstain); a NumPy array (.npy, n×m
// integers with -1 for abstain, as Snorkel's L_train); or a Wrench split
// (.json: {"id": {"label": y, "weak_labels": [...]}, ...}, rows in
// numeric id order). gold holds a Wrench file's labels (nil otherwise).
func ReadVotes(ctx context.Context, path string, opt VotesOptions) (x *Matrix, gold []int, err error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".parquet" {
		x, err := LoadMatrix(ctx, path)
		return x, nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("label: %w", err)
	}
	var dense [][]int
	var lfs []string
	switch ext {
	case ".csv", ".tsv":
		comma := ','
		if ext == ".tsv" {
			comma = '\t'
		}
		lfs, dense, err = ParseVotesCSV(bytes.NewReader(b), comma, opt.Classes)
	case ".npy":
		dense, err = ParseNPY(b)
	case ".json":
		dense, gold, err = ParseWrench(b)
		if err == nil && opt.Classes == nil {
			opt.Classes, err = wrenchClasses(filepath.Join(filepath.Dir(path), "label.json"))
		}
	default:
		return nil, nil, fmt.Errorf("label: %s: votes are .parquet (dawn label apply), .csv/.tsv, .npy or Wrench .json", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("label: %s: %w", path, err)
	}
	x, err = denseMatrix(dense, lfs, opt.Classes)
	if err != nil {
		return nil, nil, fmt.Errorf("label: %s: %w", path, err)
	}
	for i, g := range gold {
		if g >= x.K() {
			return nil, nil, fmt.Errorf("label: %s: row %d: gold label %d is not a class id in 0..%d", path, i+1, g, x.K()-1)
		}
	}
	return x, gold, nil
}

// denseMatrix turns rows of votes (-1 abstain) into a Matrix, naming LFs
// lf0.. when lfs is nil and classes 0..k-1 when classes is nil.
func denseMatrix(rows [][]int, lfs, classes []string) (*Matrix, error) {
	m := len(lfs)
	if lfs == nil && len(rows) > 0 {
		m = len(rows[0])
	}
	if m == 0 {
		return nil, errors.New("the vote matrix has no LFs")
	}
	if lfs == nil {
		for j := 0; j < m; j++ {
			lfs = append(lfs, "lf"+strconv.Itoa(j))
		}
	}
	k := len(classes)
	if classes == nil {
		k = 2
		for _, r := range rows {
			for _, v := range r {
				k = max(k, v+1)
			}
		}
		for c := 0; c < k; c++ {
			classes = append(classes, strconv.Itoa(c))
		}
	}
	for i, r := range rows {
		if len(r) != m {
			return nil, fmt.Errorf("row %d has %d votes, want %d (one per LF)", i+1, len(r), m)
		}
		for j, v := range r {
			if v < Abstain || v >= k {
				return nil, fmt.Errorf("row %d, LF %s: vote %d is not -1 (abstain) or a class id in 0..%d", i+1, lfs[j], v, k-1)
			}
		}
	}
	return FromDense(rows, m, lfs, classes, k)
}

// ParseVotesCSV reads a dense vote matrix: a header of LF names, then one
// line per row, each cell a class id, a class name from classes, or -1 or
// empty for abstain.
func ParseVotesCSV(r io.Reader, comma rune, classes []string) (lfs []string, rows [][]int, err error) {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("votes header: %w", err)
	}
	lfs = slices.Clone(head)
	seen := map[string]bool{}
	for j, n := range lfs {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			return nil, nil, fmt.Errorf("votes header: column %d is empty or a repeated LF name %q", j+1, n)
		}
		if _, err := strconv.Atoi(n); err == nil && j == 0 {
			return nil, nil, fmt.Errorf("votes header: %q looks like a vote; the first line names the LFs", n)
		}
		seen[n] = true
		lfs[j] = n
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return lfs, rows, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("votes: %w", err)
		}
		if (len(rows)+1)*len(lfs) > MaxVoteCells {
			return nil, nil, fmt.Errorf("votes: more than %d cells; use dawn's sparse votes Parquet", MaxVoteCells)
		}
		row := make([]int, len(rec))
		for j, c := range rec {
			c = strings.TrimSpace(c)
			switch v, err := strconv.Atoi(c); {
			case c == "":
				row[j] = Abstain
			case err == nil:
				row[j] = v
			case slices.Contains(classes, c):
				row[j] = slices.Index(classes, c)
			default:
				name := ""
				if j < len(lfs) {
					name = lfs[j]
				}
				return nil, nil, fmt.Errorf("votes line %d, LF %s: %q is not a class id, a class name or -1 (a CSV of votes has a header of LF names, then one vote per LF; is this the data rather than its votes?)", line, name, c)
			}
		}
		rows = append(rows, row)
	}
}

var npyHeader = regexp.MustCompile(`'descr':\s*'([<>|=])([iuf])(\d)'.*'fortran_order':\s*(True|False).*'shape':\s*\((\d+),\s*(\d+)\s*,?\s*\)`)

// ParseNPY reads a 2-D NumPy array of integers (or integral floats), as
// numpy.save writes Snorkel's L_train: n rows × m LFs, -1 for abstain.
func ParseNPY(b []byte) ([][]int, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, errors.New("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, off int
	switch b[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf(".npy format version %d is not 1, 2 or 3", b[6])
	}
	if hlen < 0 || off+hlen > len(b) {
		return nil, errors.New("truncated .npy header")
	}
	h := npyHeader.FindStringSubmatch(strings.ReplaceAll(string(b[off:off+hlen]), "\"", "'"))
	if h == nil {
		return nil, fmt.Errorf(".npy header %q: want a 2-D integer or float array ('descr' like '<i8', 'shape' (n, m))", strings.TrimSpace(string(b[off:off+hlen])))
	}
	order, kind := h[1], h[2]
	size, _ := strconv.Atoi(h[3])
	n, err1 := strconv.Atoi(h[5])
	m, err2 := strconv.Atoi(h[6])
	if err1 != nil || err2 != nil || n < 0 || m < 0 || (m > 0 && n > MaxVoteCells/m) {
		return nil, fmt.Errorf(".npy shape (%s, %s) is not a matrix of at most %d cells", h[5], h[6], MaxVoteCells)
	}
	if !(size == 1 || size == 2 || size == 4 || size == 8) || (kind == "f" && size < 4) {
		return nil, fmt.Errorf(".npy dtype %s%d is not supported", kind, size)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if order == ">" {
		bo = binary.BigEndian
	}
	body := b[off+hlen:]
	if len(body) != n*m*size {
		return nil, fmt.Errorf(".npy data is %d bytes, want %d for shape (%d, %d) of %d-byte cells", len(body), n*m*size, n, m, size)
	}
	fortran := h[4] == "True"
	rows := make([][]int, n)
	for i := range rows {
		rows[i] = make([]int, m)
		for j := range rows[i] {
			idx := i*m + j
			if fortran {
				idx = j*n + i
			}
			c := body[idx*size : (idx+1)*size]
			var v int64
			switch {
			case kind == "f" && size == 4:
				f := float64(math.Float32frombits(bo.Uint32(c)))
				if f != math.Trunc(f) || math.Abs(f) > 1<<30 {
					return nil, fmt.Errorf(".npy row %d, column %d: %v is not a whole number", i+1, j+1, f)
				}
				v = int64(f)
			case kind == "f":
				f := math.Float64frombits(bo.Uint64(c))
				if f != math.Trunc(f) || math.Abs(f) > 1<<30 {
					return nil, fmt.Errorf(".npy row %d, column %d: %v is not a whole number", i+1, j+1, f)
				}
				v = int64(f)
			case size == 1 && kind == "i":
				v = int64(int8(c[0]))
			case size == 1:
				v = int64(c[0])
			case size == 2 && kind == "i":
				v = int64(int16(bo.Uint16(c)))
			case size == 2:
				v = int64(bo.Uint16(c))
			case size == 4 && kind == "i":
				v = int64(int32(bo.Uint32(c)))
			case size == 4:
				v = int64(bo.Uint32(c))
			default:
				v = int64(bo.Uint64(c))
			}
			if v < -1 || v > 1<<30 {
				return nil, fmt.Errorf(".npy row %d, column %d: vote %d is not -1 (abstain) or a class id", i+1, j+1, v)
			}
			rows[i][j] = int(v)
		}
	}
	return rows, nil
}

// ParseWrench reads a Wrench split: {"id": {"label": y, "weak_labels":
// [...], "data": {...}}, ...}; rows in numeric id order (ids that are not
// numbers after them, in string order).
func ParseWrench(b []byte) (rows [][]int, gold []int, err error) {
	var items map[string]struct {
		Label      *int  `json:"label"`
		WeakLabels []int `json:"weak_labels"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, nil, fmt.Errorf("not a Wrench split (%v)", err)
	}
	ids := make([]string, 0, len(items))
	for id := range items {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		switch {
		case ea == nil && eb == nil:
			return na - nb
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, id := range ids {
		it := items[id]
		if it.WeakLabels == nil {
			return nil, nil, fmt.Errorf("item %q has no weak_labels", id)
		}
		rows = append(rows, it.WeakLabels)
		g := -1
		if it.Label != nil {
			g = *it.Label
			if g < -1 {
				return nil, nil, fmt.Errorf("item %q: label %d is not a class id", id, g)
			}
		}
		gold = append(gold, g)
	}
	return rows, gold, nil
}

// wrenchClasses reads a Wrench label.json ({"0": "ham", ...}); nil when
// there is none.
func wrenchClasses(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := make([]string, len(m))
	for id, name := range m {
		c, err := strconv.Atoi(id)
		if err != nil || c < 0 || c >= len(names) || name == "" {
			return nil, fmt.Errorf("%s: class id %q is not in 0..%d", path, id, len(names)-1)
		}
		names[c] = name
	}
	return names, nil
}
