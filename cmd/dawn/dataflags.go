package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/dawn-ml/dawn/data"
)

// dataFlags adds the flags every command that reads a data file shares
// (next to its own --data): --format, repeated --type COL=TYPE overrides and
// --delimiter. They apply to every data file the command reads.
type dataFlags struct {
	format, delimiter string
	types             typeFlag
}

func addDataFlags(fs *flag.FlagSet) *dataFlags {
	d := &dataFlags{types: typeFlag{}}
	fs.StringVar(&d.format, "format", "", "input format: csv, tsv, jsonl, parquet or arrow (default: by extension)")
	fs.Var(d.types, "type", "override a column's inferred type, COLUMN=string|int64|float64|bool (repeatable)")
	fs.StringVar(&d.delimiter, "delimiter", "", "field separator of CSV/TSV input, one character such as ';' or '|' (\\t or tab: a tab; default: ',' for CSV, tab for TSV)")
	return d
}

func (d *dataFlags) options() (data.Options, error) {
	var o data.Options
	switch d.delimiter {
	case "":
	case `\t`, "tab", "\t":
		o.Delimiter = '\t'
	default:
		if len(d.delimiter) != 1 || d.delimiter[0] >= 0x80 || d.delimiter == `"` || d.delimiter == "\n" || d.delimiter == "\r" {
			return o, usagef("--delimiter %q: want one ASCII character other than a quote or a newline, e.g. ';' or '|'", d.delimiter)
		}
		o.Delimiter = d.delimiter[0]
	}
	if d.format != "" {
		f, err := data.ParseFormat(d.format)
		if err != nil {
			return o, &usageError{msg: err.Error()}
		}
		o.Format = f
	}
	if len(d.types) > 0 {
		o.Types = map[string]arrow.DataType(d.types)
	}
	return o, nil
}

type typeFlag map[string]arrow.DataType

func (t typeFlag) String() string { return "" }

func (t typeFlag) Set(v string) error {
	col, typ, ok := strings.Cut(v, "=")
	if !ok || col == "" {
		return fmt.Errorf("want COLUMN=TYPE, got %q", v)
	}
	switch strings.ToLower(typ) {
	case "string", "str", "text":
		t[col] = arrow.BinaryTypes.String
	case "int64", "int", "integer", "long":
		t[col] = arrow.PrimitiveTypes.Int64
	case "float64", "float", "double", "number":
		t[col] = arrow.PrimitiveTypes.Float64
	case "bool", "boolean":
		t[col] = arrow.FixedWidthTypes.Boolean
	default:
		return fmt.Errorf("unknown type %q for column %s; use string, int64, float64 or bool", typ, col)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
