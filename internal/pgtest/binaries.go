package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// binGlob is where Debian's packages keep each major version's server
// programs, which they do not put on PATH. A variable, so that a test can
// look where there are none.
var binGlob = "/usr/lib/postgresql/*/bin"

// findBinaries returns the first directory on PATH that holds both initdb
// and postgres, or else the newest version's under binGlob.
func findBinaries() (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir != "" && hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(binGlob)
	slices.SortFunc(dirs, func(a, b string) int { return slices.Compare(version(b), version(a)) })
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("pgtest: no PostgreSQL server to start: initdb and postgres are neither on PATH nor in %s. "+
		"Install PostgreSQL (Debian, Ubuntu: apt-get install postgresql), or set %s to the postgres:// URL of a server whose user may CREATE DATABASE",
		binGlob, envServer)
}

// hasServer says whether dir holds the two programs a cluster needs.
func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// version is the version a directory under binGlob is named for:
// /usr/lib/postgresql/15/bin is [15], .../9.6/bin is [9 6].
func version(dir string) []int {
	var v []int
	for _, f := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// runAs returns the credential the server runs under, or nil to run it as
// the tests do: PostgreSQL refuses to run as root, so under root it runs
// as the postgres user, or as nobody where there is none.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		// No supplementary groups: root's would otherwise stay.
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("pgtest: the tests run as root, which PostgreSQL refuses, and there is neither a postgres nor a nobody user to run it as. "+
		"Add one (useradd --system postgres), run the tests as another user, or set %s to the postgres:// URL of a running server", envServer)
}
