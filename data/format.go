package data

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format names a file format.
type Format string

// The formats dawn reads; CSV and Parquet are also written.
const (
	CSV     Format = "csv"
	TSV     Format = "tsv"
	JSONL   Format = "jsonl"
	Parquet Format = "parquet"
	Arrow   Format = "arrow"
)

// FormatOf returns the format a path's extension names.
func FormatOf(path string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".gz" || ext == ".zst" {
		return "", fmt.Errorf("data: %s: a compressed file has no single format; Open reads .csv.gz, .tsv.gz and .jsonl.gz, and nothing is written compressed", path)
	}
	switch ext {
	case ".csv":
		return CSV, nil
	case ".tsv", ".tab":
		return TSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	case ".parquet", ".pq":
		return Parquet, nil
	case ".arrow", ".feather", ".ipc", ".arrows":
		return Arrow, nil
	}
	return "", fmt.Errorf("data: %s: cannot tell the format from the extension %q; use .csv, .tsv, .jsonl, .parquet or .arrow, or pass the format explicitly", path, ext)
}

// ParseFormat checks a user-given format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, TSV, JSONL, Parquet, Arrow:
		return f, nil
	case "ndjson", "json":
		return JSONL, nil
	case "feather", "ipc":
		return Arrow, nil
	}
	return "", fmt.Errorf("data: unknown format %q; use csv, tsv, jsonl, parquet or arrow", s)
}
