package workspace

import (
	"strconv"
	"strings"
)

// lines knows the line of every key, table header and array element of
// a config, so that messages point at what the user wrote. BurntSushi/toml
// keeps no positions, so this reads the text itself; it runs only on text
// the TOML parser accepted, and on anything it does not follow it stops
// recording rather than guess.
//
// A path is the key's segments with each [[array]] table's index as "#n"
// after its name: siblings, #2, depends_on; array elements likewise.
type lines struct {
	at map[string]int
}

const pathSep = "\x00"

func pathKey(segs []string) string { return strings.Join(segs, pathSep) }

// line returns the line of path, or of its closest recorded ancestor, or 0.
func (l *lines) line(path ...string) int {
	for n := len(path); n > 0; n-- {
		if ln, ok := l.at[pathKey(path[:n])]; ok {
			return ln
		}
	}
	return 0
}

// exact returns the line of path itself, or 0.
func (l *lines) exact(path ...string) int {
	return l.at[pathKey(path)]
}

func scanLines(text string) *lines {
	s := &scanner{src: strings.TrimPrefix(text, "\ufeff"), line: 1, aot: map[string]int{}, out: map[string]int{}}
	defer func() {
		// The scanner is best effort; a confused scan keeps what it found.
		_ = recover()
	}()
	s.document()
	return &lines{at: s.out}
}

type scanner struct {
	src  string
	pos  int
	line int
	cur  []string       // the current table's resolved path
	aot  map[string]int // index of the last table of each [[array]]
	out  map[string]int
	// depth counts the arrays and inline tables the scan is inside. Below
	// maxDepth nothing is recorded, so that a hostile nesting costs time
	// linear in its size.
	depth int
}

const maxDepth = 8

func (s *scanner) record(path []string, line int) {
	if s.depth > maxDepth {
		return
	}
	k := pathKey(path)
	if _, ok := s.out[k]; !ok {
		s.out[k] = line
	}
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *scanner) next() byte {
	c := s.src[s.pos]
	s.pos++
	if c == '\n' {
		s.line++
	}
	return c
}

// blank skips spaces and tabs (and carriage returns) on the current line.
func (s *scanner) blank() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t' || s.peek() == '\r') {
		s.pos++
	}
}

// space skips whitespace, newlines and comments (inside arrays).
func (s *scanner) space() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.next()
		case '#':
			s.comment()
		default:
			return
		}
	}
}

func (s *scanner) comment() {
	for !s.eof() && s.peek() != '\n' {
		s.pos++
	}
}

func (s *scanner) document() {
	for {
		s.space()
		if s.eof() {
			return
		}
		start := s.pos
		if s.peek() == '[' {
			s.header()
		} else {
			s.keyValue(s.cur)
		}
		if s.pos == start {
			// Not understood (a key form this reader does not know):
			// skip the line rather than stop or loop.
			s.comment()
		}
	}
}

// resolve maps a header's key segments to a path, inserting the current
// index after every prefix that names an array of tables.
func (s *scanner) resolve(segs []string) []string {
	var out []string
	for _, seg := range segs {
		out = append(out, seg)
		if i, ok := s.aot[pathKey(out)]; ok {
			out = append(out, "#"+strconv.Itoa(i))
		}
	}
	return out
}

func (s *scanner) header() {
	line := s.line
	s.next() // [
	array := s.peek() == '['
	if array {
		s.next()
	}
	s.blank()
	segs := s.key()
	s.blank()
	for !s.eof() && s.peek() == ']' {
		s.next()
	}
	if len(segs) == 0 {
		return
	}
	if !array {
		s.cur = s.resolve(segs)
		s.record(s.cur, line)
		return
	}
	parent := s.resolve(segs[:len(segs)-1])
	p := append(parent, segs[len(segs)-1])
	k := pathKey(p)
	i, seen := s.aot[k]
	if seen {
		i++
	}
	s.aot[k] = i
	s.record(p, line)
	s.cur = append(p, "#"+strconv.Itoa(i))
	s.record(s.cur, line)
}

// key reads a dotted key: bare, "basic" or 'literal' segments.
func (s *scanner) key() []string {
	var segs []string
	for {
		s.blank()
		var seg string
		switch c := s.peek(); {
		case c == '"':
			seg = s.basicString()
		case c == '\'':
			seg = s.literalString()
		case isBare(c):
			start := s.pos
			for !s.eof() && isBare(s.peek()) {
				s.pos++
			}
			seg = s.src[start:s.pos]
		default:
			return segs
		}
		segs = append(segs, seg)
		s.blank()
		if s.peek() != '.' {
			return segs
		}
		s.next()
	}
}

func isBare(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (s *scanner) keyValue(table []string) {
	line := s.line
	segs := s.key()
	if len(segs) == 0 {
		return
	}
	path := table
	if s.depth <= maxDepth {
		path = append(append([]string(nil), table...), segs...)
		for n := len(table) + 1; n <= len(path); n++ {
			s.record(path[:n], line)
		}
	}
	s.blank()
	if s.peek() != '=' {
		return
	}
	s.next()
	s.blank()
	s.value(path)
}

func (s *scanner) value(path []string) {
	switch c := s.peek(); c {
	case '"':
		s.basicString()
	case '\'':
		s.literalString()
	case '[':
		s.array(path)
	case '{':
		s.inlineTable(path)
	default:
		for !s.eof() {
			switch s.peek() {
			case ',', ']', '}', '#', '\n', ' ', '\t', '\r':
				return
			}
			s.pos++
		}
	}
}

func (s *scanner) array(path []string) {
	s.next() // [
	s.depth++
	defer func() { s.depth-- }()
	for i := 0; ; i++ {
		s.space()
		if s.eof() {
			return
		}
		if s.peek() == ']' {
			s.next()
			return
		}
		elem := path
		if s.depth <= maxDepth {
			elem = append(append([]string(nil), path...), "#"+strconv.Itoa(i))
			s.record(elem, s.line)
		}
		start := s.pos
		s.value(elem)
		s.space()
		if s.peek() == ',' {
			s.next()
		} else if s.pos == start {
			return
		}
	}
}

func (s *scanner) inlineTable(path []string) {
	s.next() // {
	s.depth++
	defer func() { s.depth-- }()
	for {
		s.space()
		if s.eof() {
			return
		}
		switch s.peek() {
		case '}':
			s.next()
			return
		case ',':
			s.next()
			continue
		}
		start := s.pos
		s.keyValue(path)
		if s.pos == start {
			return
		}
	}
}

// basicString reads a "string" or """multi-line string""" and returns
// its raw text (escapes left as written: keys with escapes are rare).
func (s *scanner) basicString() string {
	return s.quoted('"', true)
}

func (s *scanner) literalString() string {
	return s.quoted('\'', false)
}

func (s *scanner) quoted(q byte, escapes bool) string {
	triple := strings.HasPrefix(s.src[s.pos:], strings.Repeat(string(q), 3))
	if triple {
		s.pos += 3
	} else {
		s.pos++
	}
	start := s.pos
	for !s.eof() {
		c := s.peek()
		switch {
		case escapes && c == '\\':
			s.next()
			if !s.eof() {
				s.next()
			}
		case c == q && !triple:
			str := s.src[start:s.pos]
			s.next()
			return str
		case c == q && strings.HasPrefix(s.src[s.pos:], strings.Repeat(string(q), 3)):
			// A closing delimiter may follow up to two quotes of content.
			n := 0
			for !s.eof() && s.peek() == q && n < 5 {
				s.next()
				n++
			}
			return s.src[start : s.pos-3]
		case c == '\n' && !triple:
			return s.src[start:s.pos]
		default:
			s.next()
		}
	}
	return s.src[start:]
}
