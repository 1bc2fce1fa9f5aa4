package workspace

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// lines knows the line of every key, table header and array element of
// a config, so that messages point at what the user wrote. BurntSushi/toml
// keeps its positions private, so go-toml's parser, which gives every key
// and value its bytes in the text, finds them; it runs only on text
// BurntSushi accepted, and where go-toml stops it keeps what it found.
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

// maxDepth bounds the arrays and inline tables whose insides are
// recorded: no config nests deeper, and a hostile nesting then costs no
// more than its parse.
const maxDepth = 8

func scanLines(text string) (l *lines) {
	src := []byte(strings.TrimPrefix(text, "\ufeff"))
	f := &finder{aot: map[string]int{}, out: map[string]int{}}
	l = &lines{at: f.out}
	for i, c := range src {
		if c == '\n' {
			f.starts = append(f.starts, i+1)
		}
	}
	defer func() {
		// Best effort, as for text the parser does not follow: a panic
		// in it keeps what was found.
		_ = recover()
	}()
	f.p.Reset(src)
	for f.p.NextExpression() {
		f.expression(f.p.Expression())
	}
	return l
}

type finder struct {
	p      unstable.Parser
	starts []int          // offsets where lines 2, 3, ... begin
	cur    []string       // the current table's resolved path
	aot    map[string]int // index of the last table of each [[array]]
	out    map[string]int
}

// lineOf is the line of a byte offset into the text.
func (f *finder) lineOf(off int) int {
	return sort.SearchInts(f.starts, off+1) + 1
}

// lineOfNode is the line where n begins: its own bytes, or for an array
// (which go-toml gives none) its first element's.
func (f *finder) lineOfNode(n *unstable.Node) int {
	for n != nil {
		if n.Raw.Length > 0 || n.Kind == unstable.InlineTable {
			return f.lineOf(int(n.Raw.Offset))
		}
		it := n.Children()
		if !it.Next() {
			return 0
		}
		n = it.Node()
	}
	return 0
}

func (f *finder) record(path []string, line int) {
	k := pathKey(path)
	if _, ok := f.out[k]; !ok && line > 0 {
		f.out[k] = line
	}
}

// keyOf returns a key's segments and the line of its first.
func (f *finder) keyOf(n *unstable.Node) ([]string, int) {
	var segs []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = f.lineOf(int(k.Raw.Offset))
		}
		segs = append(segs, string(k.Data))
	}
	return segs, line
}

// resolve maps a header's key segments to a path, inserting the current
// index after every prefix that names an array of tables.
func (f *finder) resolve(segs []string) []string {
	var out []string
	for _, seg := range segs {
		out = append(out, seg)
		if i, ok := f.aot[pathKey(out)]; ok {
			out = append(out, "#"+strconv.Itoa(i))
		}
	}
	return out
}

func (f *finder) expression(e *unstable.Node) {
	switch e.Kind {
	case unstable.Table:
		segs, line := f.keyOf(e)
		f.cur = f.resolve(segs)
		f.record(f.cur, line)
	case unstable.ArrayTable:
		segs, line := f.keyOf(e)
		if len(segs) == 0 {
			return
		}
		p := append(f.resolve(segs[:len(segs)-1]), segs[len(segs)-1])
		k := pathKey(p)
		i, seen := f.aot[k]
		if seen {
			i++
		}
		f.aot[k] = i
		f.record(p, line)
		f.cur = append(p, "#"+strconv.Itoa(i))
		f.record(f.cur, line)
	case unstable.KeyValue:
		f.keyValue(e, f.cur, 0)
	}
}

func (f *finder) keyValue(kv *unstable.Node, table []string, depth int) {
	segs, line := f.keyOf(kv)
	path := append(append([]string(nil), table...), segs...)
	for n := len(table) + 1; n <= len(path); n++ {
		f.record(path[:n], line)
	}
	f.value(kv.Value(), path, depth)
}

func (f *finder) value(v *unstable.Node, path []string, depth int) {
	if depth >= maxDepth {
		return
	}
	switch v.Kind {
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			elem := append(append([]string(nil), path...), "#"+strconv.Itoa(i))
			f.record(elem, f.lineOfNode(c))
			f.value(c, elem, depth+1)
			i++
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				f.keyValue(c, path, depth+1)
			}
		}
	}
}
