// Package jsondoc edits a JSON document by dotted path ("pull_request.head.sha")
// and leaves every other byte of meaning as it was: the demo rewrites
// GitHub's own payloads with it to name the emulator's repositories, and
// tests make edge cases as mutated copies of real payloads.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Doc is a decoded JSON payload. Numbers stay json.Number so ids survive a
// round trip digit for digit.
type Doc = map[string]any

// Decode decodes a JSON object.
func Decode(b []byte) (Doc, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var d Doc
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decode payload: %w", err)
	}
	if d == nil {
		return nil, fmt.Errorf("decode payload: not a JSON object")
	}
	return d, nil
}

// Marshal encodes d compactly.
func Marshal(d Doc) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // GitHub does not escape <, > and & either
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("jsondoc: encode: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Get returns the value at a dotted path such as "pull_request.head.sha"
// or "pull_request.labels.0.name".
func Get(d Doc, path string) (any, error) {
	var cur any = d
	for _, key := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[key]
			if !ok {
				return nil, fmt.Errorf("jsondoc: %s: no key %q", path, key)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("jsondoc: %s: %q is not an index of a %d-element array", path, key, len(c))
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("jsondoc: %s: %q is inside a %T, not an object or array", path, key, cur)
		}
	}
	return cur, nil
}

// GetString is Get for a string value.
func GetString(d Doc, path string) (string, error) {
	v, err := Get(d, path)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("jsondoc: %s is a %T, not a string", path, v)
	}
	return s, nil
}

// Set puts value at path, leaving the rest of d as it was. Missing objects
// along the path are created; array elements must exist. Integers are
// stored as json.Number so the document reads back as it would from a file.
func Set(d Doc, path string, value any) error {
	return set(d, path, normalize(value), false)
}

// Delete removes the key at path; a path that does not exist is an error.
func Delete(d Doc, path string) error {
	return set(d, path, nil, true)
}

func set(d Doc, path string, value any, del bool) error {
	keys := strings.Split(path, ".")
	var cur any = d
	for i, key := range keys {
		last := i == len(keys)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if del {
					if _, ok := c[key]; !ok {
						return fmt.Errorf("jsondoc: delete %s: no key %q", path, key)
					}
					delete(c, key)
				} else {
					c[key] = value
				}
				return nil
			}
			next, ok := c[key]
			if !ok || next == nil {
				if del {
					return fmt.Errorf("jsondoc: delete %s: no key %q", path, key)
				}
				next = map[string]any{}
				c[key] = next
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 || n >= len(c) {
				return fmt.Errorf("jsondoc: set %s: %q is not an index of a %d-element array", path, key, len(c))
			}
			if last {
				if del {
					return fmt.Errorf("jsondoc: delete %s: cannot delete an array element", path)
				}
				c[n] = value
				return nil
			}
			cur = c[n]
		default:
			return fmt.Errorf("jsondoc: set %s: %q is inside a %T, not an object or array", path, key, cur)
		}
	}
	return nil
}

func normalize(v any) any {
	switch n := v.(type) {
	case int:
		return json.Number(strconv.Itoa(n))
	case int64:
		return json.Number(strconv.FormatInt(n, 10))
	}
	return v
}
