package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// payloadAction validates payload as a JSON object and returns its
// top-level "action" string ("" when absent or null), in one pass.
//
// It agrees with encoding/json's Valid on what is JSON (FuzzPayloadAction
// checks), at a fraction of the cost: json.Valid followed by Unmarshal
// into a struct reads a 28 KB pull_request payload three times and was a
// quarter of the edge's CPU. Nothing else of the payload is decoded here,
// so a field the bot never reads (check_run's old timestamp format)
// cannot fail a delivery.
//
// It is kept over a maintained validator on the ingest benchmark's
// evidence: gjson.Valid plus gjson.Get cost 3-38% of the deliveries a
// second (more than 10% in four of five runs), json.Valid plus a lookup
// 28-52%; gjson.Valid also recurses without a bound, so one signed body
// of nested brackets under the 25 MiB cap overflows the goroutine stack
// and kills the process, and gjson.Get reads the first of duplicate keys
// where a decoder reads the last.
func payloadAction(payload []byte) (string, error) {
	s := jsonScanner{b: payload}
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return "", errors.New("not a JSON object")
	}
	if err := s.object(true); err != nil {
		return "", err
	}
	s.space()
	if s.i != len(s.b) {
		return "", s.errorf("data after the top-level object")
	}
	if s.action < 0 {
		return "", nil
	}
	var a string
	if err := json.Unmarshal(s.b[s.action:s.actionEnd], &a); err != nil {
		return "", err
	}
	return a, nil
}

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

type jsonScanner struct {
	b     []byte
	i     int
	depth int
	// action and actionEnd bound the last top-level "action" string value
	// (JSON decoders keep the last of duplicate keys); action is -1 when
	// there is none or it is null.
	action, actionEnd int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) value() error {
	if s.i >= len(s.b) {
		return s.errorf("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(false)
	case c == '[':
		return s.array()
	case c == '"':
		return s.string()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	default:
		return s.errorf("unexpected %q", c)
	}
}

func (s *jsonScanner) object(top bool) error {
	if s.depth++; s.depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	if top {
		s.action = -1
	}
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.errorf("expected a key string")
		}
		k := s.i
		if err := s.string(); err != nil {
			return err
		}
		isAction := top && isActionKey(s.b[k:s.i])
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errorf("expected ':' after a key")
		}
		s.i++
		s.space()
		v := s.i
		if err := s.value(); err != nil {
			return err
		}
		if isAction {
			switch s.b[v] {
			case '"':
				s.action, s.actionEnd = v, s.i
			case 'n':
				s.action = -1
			default:
				return errors.New(`"action" is not a string`)
			}
		}
		s.space()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end in an object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.errorf("expected ',' or '}' in an object")
		}
	}
}

// isActionKey reports whether the quoted key is "action", escapes
// included ("\u0061ction" is the same key to a JSON decoder).
func isActionKey(quoted []byte) bool {
	if string(quoted) == `"action"` {
		return true
	}
	if bytes.IndexByte(quoted, '\\') < 0 {
		return false
	}
	var k string
	return json.Unmarshal(quoted, &k) == nil && k == "action"
}

func (s *jsonScanner) array() error {
	if s.depth++; s.depth > maxDepth {
		return s.errorf("nested too deeply")
	}
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		s.space()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end in an array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return s.errorf("expected ',' or ']' in an array")
		}
	}
}

func (s *jsonScanner) string() error {
	s.i++ // opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return s.errorf("unexpected end in a string")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return s.errorf("unexpected end in a string")
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return s.errorf("bad \\u escape")
					}
				}
				s.i += 5
			default:
				return s.errorf("bad escape")
			}
		case c < 0x20:
			return s.errorf("control character in a string")
		default:
			s.i++
		}
	}
	return s.errorf("unexpected end in a string")
}

func (s *jsonScanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.errorf("expected %s", word)
	}
	s.i += len(word)
	return nil
}

func (s *jsonScanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.errorf("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.errorf("bad number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.errorf("bad number")
		}
	}
	return nil
}

func (s *jsonScanner) digits() int {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}
