// Package pythontest lets a test binary run Python without pyenv's
// shims. A shim is a bash script that runs pyenv to find the interpreter
// on every call: about half a CPU-second each, and a python3.X shim for
// a version pyenv has installed but not selected runs pyenv only to
// fail. The interpreter the shim would run is found once instead, and
// its directory takes the shims' place on PATH.
package pythontest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Unshim rewrites PATH in the environment: the first pyenv shims
// directory is replaced by the directory of the python3 it stands for
// (its sys.executable, asked once through the shim), and any other is
// dropped. Without pyenv shims on PATH it changes nothing, nor where the
// shim cannot say: then the shims stay.
func Unshim() {
	path := os.Getenv("PATH")
	dirs := filepath.SplitList(path)
	shims := -1
	for i, d := range dirs {
		if isShims(d) {
			shims = i
			break
		}
	}
	if shims < 0 {
		return
	}
	out, err := exec.Command(filepath.Join(dirs[shims], "python3"), "-c", "import sys; print(sys.executable)").Output()
	real := strings.TrimSpace(string(out))
	if err != nil || !filepath.IsAbs(real) || isShims(filepath.Dir(real)) {
		return
	}
	var kept []string
	for i, d := range dirs {
		switch {
		case i == shims:
			kept = append(kept, filepath.Dir(real))
		case isShims(d):
		default:
			kept = append(kept, d)
		}
	}
	os.Setenv("PATH", strings.Join(kept, string(os.PathListSeparator)))
}

// isShims says whether dir's python3 is a pyenv shim.
func isShims(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "python3"))
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, _ := f.Read(head)
	return bytes.HasPrefix(head[:n], []byte("#!")) && bytes.Contains(head[:n], []byte("pyenv"))
}
