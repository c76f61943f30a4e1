// Package yamlkeys checks the keys of a YAML document against the Go struct
// it will be decoded into, before a strict decode would, so that a typo is
// reported with its line, where it stands and the nearest known key.
package yamlkeys

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dawn-ml/dawn/internal/suggest"
)

// Error is an unknown key.
type Error struct {
	Line  int
	Path  string // where the key stands, e.g. candidates[2].parts[1]; "" at the top
	Key   string
	Known []string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Detail()) }

// Detail is the message without the line, for callers that print the line
// their own way (file:line).
func (e *Error) Detail() string {
	where := "the file's"
	if e.Path != "" {
		where = e.Path + "'s"
	}
	return e.DetailOf(where)
}

// DetailOf is Detail with the owner of the known keys named by the caller
// (e.g. "an LF's" where the path would say "lfs[2]'s").
func (e *Error) DetailOf(owner string) string {
	return fmt.Sprintf("unknown key %q%s; %s keys are %s", e.Key,
		suggest.Hint(e.Key, e.Known), owner, strings.Join(e.Known, ", "))
}

// Keys lists the keys a struct type's yaml tags accept, in field order.
func Keys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

// Check walks doc (as yaml.Unmarshal gives it into a yaml.Node) beside v's
// type (a struct or a pointer to one) and returns the first key no struct
// field takes, as an *Error. Shapes that do not match the type (a list where
// a mapping belongs) are left to the decoder, which reports them.
func Check(doc *yaml.Node, v any) error {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) != 1 {
			return nil
		}
		n = n.Content[0]
	}
	return check(n, reflect.TypeOf(v), "")
}

func check(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		known := Keys(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			f, ok := field(t, k.Value)
			if !ok {
				return &Error{Line: k.Line, Path: path, Key: k.Value, Known: known}
			}
			sub := k.Value
			if path != "" {
				sub = path + "." + k.Value
			}
			if err := check(n.Content[i+1], f.Type, sub); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			if err := check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i+1)); err != nil {
				return err
			}
		}
	}
	return nil
}

func field(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == key && tag != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
