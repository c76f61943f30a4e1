package explain

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dawn-ml/dawn/data"
)

// Inputs expands an input path: a directory stands for the data files in
// it (known extensions, names not starting with '.', so files being
// written are skipped; sorted by name), a pattern with * ? or [ for the
// files it matches, and anything else for itself.
func Inputs(path string) ([]string, error) {
	if strings.ContainsAny(path, "*?[") {
		m, err := filepath.Glob(path)
		if err != nil {
			return nil, fmt.Errorf("explain: input pattern %q: %w", path, err)
		}
		var files []string
		for _, f := range m {
			if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("explain: input pattern %q matches no file", path)
		}
		sort.Strings(files)
		return files, nil
	}
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return []string{path}, nil // the reader reports a missing file
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("explain: read directory %s: %w", path, err)
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") {
			continue
		}
		name := n
		if strings.EqualFold(filepath.Ext(n), ".gz") {
			name = strings.TrimSuffix(n, filepath.Ext(n))
		}
		if _, err := data.FormatOf(name); err == nil {
			files = append(files, filepath.Join(path, n))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("explain: directory %s holds no data file (.parquet, .csv, .tsv, .jsonl, .arrow)", path)
	}
	sort.Strings(files)
	return files, nil
}

// stack appends frames with the same columns, re-encoding string columns
// into one dictionary.
// Stack joins frames with the same columns, one after another; names
// labels the frames in errors (nil: their indexes).
func Stack(frames []*Frame, names []string) (*Frame, error) {
	if len(frames) == 0 {
		return &Frame{}, nil
	}
	if names == nil {
		for i := range frames {
			names = append(names, fmt.Sprintf("part %d", i+1))
		}
	}
	return stack(frames, names)
}

// Slice returns rows lo to hi (exclusive) of f as a new frame. Numbers
// share f's storage; string columns get a dictionary of the values the
// rows hold, so counts over a dictionary see only the slice.
func (f *Frame) Slice(lo, hi int) *Frame {
	out := &Frame{Rows: hi - lo, Cols: make([]FrameColumn, len(f.Cols))}
	for i, c := range f.Cols {
		out.Cols[i].Name = c.Name
		if c.Str == nil {
			out.Cols[i].Num = c.Num[lo:hi:hi]
			continue
		}
		remap := make([]int32, len(c.Str.Dict))
		for k := range remap {
			remap[k] = Null
		}
		col := &Column{Name: c.Str.Name, Codes: make([]int32, hi-lo)}
		for r, k := range c.Str.Codes[lo:hi] {
			if k == Null {
				col.Codes[r] = Null
				continue
			}
			if remap[k] == Null {
				remap[k] = int32(len(col.Dict))
				col.Dict = append(col.Dict, c.Str.Dict[k])
			}
			col.Codes[r] = remap[k]
		}
		out.Cols[i].Str = col
	}
	return out
}

func stack(frames []*Frame, files []string) (*Frame, error) {
	first := frames[0]
	out := &Frame{}
	for _, f := range frames {
		out.Rows += f.Rows
	}
	for _, c := range first.Cols {
		col := FrameColumn{Name: c.Name}
		var enc *Encoder
		if c.Str != nil {
			enc = NewEncoder(c.Name)
			enc.Grow(out.Rows)
		} else {
			col.Num = make([]float64, 0, out.Rows)
		}
		for fi, f := range frames {
			if len(f.Cols) != len(first.Cols) {
				return nil, fmt.Errorf("explain: %s has %d columns, %s has %d", files[fi], len(f.Cols), files[0], len(first.Cols))
			}
			fc, err := f.Col(c.Name)
			if err != nil {
				return nil, fmt.Errorf("explain: %s: %w", files[fi], err)
			}
			switch {
			case enc != nil && fc.Str != nil:
				codes := fc.Str.Codes
				enc.AppendCodes(codes, fc.Str.Dict, func(i int) bool { return codes[i] != Null })
			case enc == nil && fc.Num != nil:
				col.Num = append(col.Num, fc.Num...)
			default:
				return nil, fmt.Errorf("explain: column %q is %s in %s but %s in %s", c.Name, kindName(c), files[0], kindName(*fc), files[fi])
			}
		}
		if enc != nil {
			col.Str = enc.Column()
		}
		out.Cols = append(out.Cols, col)
	}
	return out, nil
}

func kindName(c FrameColumn) string {
	if c.Str != nil {
		return "text"
	}
	return "numeric"
}
