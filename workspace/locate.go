package workspace

import (
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// locator finds the line of a key in config text, so that messages point
// at it. It understands the subset of TOML a wrknv.toml uses: tables,
// arrays of tables and "key =" lines.
type locator struct {
	lines []string
}

var (
	tableRe = regexp.MustCompile(`^\s*\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(#.*)?$`)
	arrayRe = regexp.MustCompile(`^\s*\[\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\]\s*(#.*)?$`)
	keyRe   = regexp.MustCompile(`^\s*([A-Za-z0-9_\-]+)\s*=`)
)

func newLocator(data []byte) *locator {
	return &locator{lines: strings.Split(string(data), "\n")}
}

// table returns the line of a [table] header.
func (l *locator) table(name string) int {
	for i, ln := range l.lines {
		if m := tableRe.FindStringSubmatch(ln); m != nil && m[1] == name {
			return i + 1
		}
	}
	return 0
}

// keyIn returns the line of key inside [table].
func (l *locator) keyIn(table, key string) int {
	cur := ""
	for i, ln := range l.lines {
		if m := arrayRe.FindStringSubmatch(ln); m != nil {
			cur = "[[" + m[1]
			continue
		}
		if m := tableRe.FindStringSubmatch(ln); m != nil {
			cur = m[1]
			continue
		}
		if m := keyRe.FindStringSubmatch(ln); m != nil && cur == table && m[1] == key {
			return i + 1
		}
	}
	return l.table(table)
}

// sibling returns the line of key inside the n-th [[siblings]] table, or
// of its header when key is "" or absent.
func (l *locator) sibling(n int, key string) int {
	idx, header := -1, 0
	inside := false
	for i, ln := range l.lines {
		if m := arrayRe.FindStringSubmatch(ln); m != nil {
			inside = m[1] == "siblings"
			if inside {
				idx++
				if idx == n {
					header = i + 1
				}
			}
			continue
		}
		if tableRe.MatchString(ln) {
			inside = false
			continue
		}
		if inside && idx == n && key != "" {
			if m := keyRe.FindStringSubmatch(ln); m != nil && m[1] == key {
				return i + 1
			}
		}
	}
	return header
}

// key returns the line of an undecoded key as BurntSushi/toml names it.
func (l *locator) key(k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	if len(k) == 1 {
		if ln := l.table(k[0]); ln > 0 {
			return ln
		}
		return l.keyIn("", k[0])
	}
	last := k[len(k)-1]
	if k[0] == "siblings" {
		// BurntSushi reports array-of-table keys without the index; the
		// first table holding the key is the best guess.
		for n := 0; ; n++ {
			ln := l.sibling(n, last)
			if ln == 0 {
				return 0
			}
			if keyRe.MatchString(l.lines[ln-1]) {
				return ln
			}
		}
	}
	if ln := l.table(k.String()); ln > 0 {
		return ln
	}
	return l.keyIn(strings.Join(k[:len(k)-1], "."), last)
}
