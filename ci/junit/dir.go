package junit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
)

// ReadDir reads the JUnit files (names ending in .xml) directly in dir,
// a path inside root. Only regular files are read: the directory and the
// files are opened through root, so no symlink reaches outside it;
// FIFOs and devices are opened without blocking and passed over. A file
// that cannot be read or parsed is named in the report's Problems, and
// the others still count. A missing dir is an empty report.
func ReadDir(root *os.Root, dir string, lim Limits) (*Report, error) {
	rep := &Report{}
	d, err := root.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("open the reports directory: %w", err)
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return rep, errors.New("the reports directory was replaced by something that is not a directory")
	}
	ents, err := d.ReadDir(lim.Files + 1)
	if err != nil && err != io.EOF {
		return rep, fmt.Errorf("list the reports directory: %w", err)
	}
	if len(ents) > lim.Files {
		rep.Problems = append(rep.Problems, fmt.Sprintf("more than %d files in the reports directory: only the first %d (by name) were looked at", lim.Files, lim.Files))
		ents = ents[:lim.Files]
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	left := lim.Total
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".xml") {
			continue
		}
		if left <= 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not read: the reports together are over %d bytes", clip(name, 100), lim.Total))
			continue
		}
		fl := lim
		fl.File = min(lim.File, left)
		n, err := readFile(root, dir+"/"+name, fl, rep)
		left -= n
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not read: %v", clip(name, 100), err))
		}
	}
	return rep, nil
}

// readFile parses one report into rep, returning the bytes it read. What
// it finds is added only when the whole file parsed.
func readFile(root *os.Root, name string, lim Limits, rep *Report) (int64, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer that may never come.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, errors.New("cannot be opened (a symlink out of the build root, or removed)")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("not a regular file (%s)", fileKind(fi.Mode()))
	}
	if fi.Size() > lim.File {
		return 0, fmt.Errorf("%d bytes, over the limit of %d", fi.Size(), lim.File)
	}
	data, err := io.ReadAll(io.LimitReader(f, lim.File+1))
	if err != nil {
		return int64(len(data)), err
	}
	if int64(len(data)) > lim.File {
		// It grew while read.
		return int64(len(data)), fmt.Errorf("over the limit of %d bytes", lim.File)
	}
	var one Report
	one.Failures = make([]Case, 0, 4)
	budget := lim
	budget.Failures = max(0, lim.Failures-len(rep.Failures))
	if err := parseBytes(data, budget, &one); err != nil {
		return int64(len(data)), err
	}
	rep.Add(&one, lim.Failures)
	return int64(len(data)), nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSymlink != 0:
		return "a symlink"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}
