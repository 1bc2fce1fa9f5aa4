package workspace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"
)

// Package is what a sibling's pyproject.toml says about the sibling as a
// Python distribution: its name and the distributions it needs.
type Package struct {
	// File is the pyproject.toml it was read from.
	File string
	// Name is [project].name, normalized (see NormalizeName); "" when
	// the file names none.
	Name string
	// Needs are [project].dependencies and every list of
	// [project].optional-dependencies, in file order.
	Needs []Need
}

// Need is one dependency of a package.
type Need struct {
	// Name is the distribution's normalized name.
	Name string
	// Line is where the dependency is written, 0 when it was not found.
	Line int
}

// maxPyproject bounds what is read of a pyproject.toml. The file comes
// from a checkout, written by whoever opened the PR; real ones are a few
// kilobytes.
const maxPyproject = 1 << 20

// ReadPackage reads dir/pyproject.toml. It returns nil, nil when there is
// none. The file is read only if it is a regular file of at most 1 MiB
// and not a symlink: a checkout's pyproject.toml may point anywhere on
// the machine, and the service reads it with its own rights. Errors never
// quote the file's text.
func ReadPackage(dir string) (*Package, error) {
	file := filepath.Join(dir, "pyproject.toml")
	data, err := readCheckoutFile(file, maxPyproject)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var raw struct {
		Project struct {
			Name         string              `toml:"name"`
			Dependencies []string            `toml:"dependencies"`
			Optional     map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
	}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("%s: not a valid pyproject.toml (fix: check it with python -m build, or any TOML parser)", file)
	}
	pkg := &Package{File: file, Name: NormalizeName(raw.Project.Name)}
	text := string(data)
	from := 0
	add := func(dep string) {
		name := requirementName(dep)
		if name == "" {
			return
		}
		line := 0
		// The dependency's own quoted text, searched from where the last
		// one was found: the first match is where it is written.
		for _, q := range []string{`"` + dep + `"`, `'` + dep + `'`} {
			if i := strings.Index(text[from:], q); i >= 0 {
				line = 1 + strings.Count(text[:from+i], "\n")
				from += i + len(q)
				break
			}
		}
		pkg.Needs = append(pkg.Needs, Need{Name: name, Line: line})
	}
	for _, d := range raw.Project.Dependencies {
		add(d)
	}
	extras := make([]string, 0, len(raw.Project.Optional))
	for k := range raw.Project.Optional {
		extras = append(extras, k)
	}
	// TOML tables have no order once decoded; the file's order is the
	// order of the extras' first dependencies.
	sortByPosition(extras, text)
	for _, k := range extras {
		for _, d := range raw.Project.Optional[k] {
			add(d)
		}
	}
	return pkg, nil
}

// sortByPosition orders keys by where "key" first appears in text, then
// by name.
func sortByPosition(keys []string, text string) {
	pos := make(map[string]int, len(keys))
	for _, k := range keys {
		if pos[k] = strings.Index(text, k); pos[k] < 0 {
			pos[k] = len(text)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if pos[keys[i]] != pos[keys[j]] {
			return pos[keys[i]] < pos[keys[j]]
		}
		return keys[i] < keys[j]
	})
}

var (
	requirementNameRe = regexp.MustCompile(`^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)`)
	nameSeparatorsRe  = regexp.MustCompile(`[-_.]+`)
)

// requirementName is the distribution a PEP 508 requirement names,
// normalized; "" when it names none.
func requirementName(req string) string {
	m := requirementNameRe.FindStringSubmatch(req)
	if m == nil {
		return ""
	}
	return NormalizeName(m[1])
}

// NormalizeName is a distribution name as PEP 503 compares them:
// lower case, every run of "-", "_" and "." one "-".
func NormalizeName(name string) string {
	return strings.ToLower(nameSeparatorsRe.ReplaceAllString(strings.TrimSpace(name), "-"))
}

// readCheckoutFile reads a file of a checkout that may be hostile: never
// through a symlink, never a FIFO or device, never more than limit bytes.
func readCheckoutFile(file string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symlink, which is not read (fix: make it a regular file)", file)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (fix: make it one)", file)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes, which is not read (fix: keep it under 1 MiB)", file, limit)
	}
	return data, nil
}
