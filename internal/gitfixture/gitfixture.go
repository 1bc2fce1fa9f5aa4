// Package gitfixture makes real git repositories with real commits and
// serves them over smart HTTP through git http-backend, for tests, the
// GitHub emulator and the demo.
package gitfixture

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Delete, as a file's content in Commit, removes the file.
const Delete = "\x00delete"

// Executable, as a prefix of a file's content in Commit, makes it mode 0755.
const Executable = "\x00x"

// Symlink, as a prefix of a file's content in Commit, makes it a symbolic
// link to the rest of the content.
const Symlink = "\x00l"

// env is the environment for every git call: no user or system config, a
// fixed identity, so results do not depend on the machine.
func env(extra ...string) []string {
	e := append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=fixture", "GIT_AUTHOR_EMAIL=fixture@example.invalid",
		"GIT_COMMITTER_NAME=fixture", "GIT_COMMITTER_EMAIL=fixture@example.invalid",
		"GIT_TERMINAL_PROMPT=0",
	)
	return append(e, extra...)
}

// Git runs git in dir and returns its trimmed stdout.
func Git(dir string, args ...string) (string, error) {
	return gitIn(dir, nil, "", args...)
}

func gitIn(dir string, extraEnv []string, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env(extraEnv...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// InitBare creates a bare repository at dir whose default branch is branch.
func InitBare(dir, branch string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := Git(dir, "init", "--bare", "--quiet", "--initial-branch="+branch); err != nil {
		return err
	}
	// As git config http.receivepack true writes it, without its process:
	// git init has just written the file and nothing else holds it.
	f, err := os.OpenFile(filepath.Join(dir, "config"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("[http]\n\treceivepack = true\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Commit adds a commit on branch in repo (bare or not) that writes files
// (path to content; Delete removes, an Executable prefix sets mode 0755,
// a Symlink prefix makes a symbolic link)
// on top of the branch tip, or of from when the branch does not exist yet
// ("" for a root commit). It returns the new commit's SHA. No work tree is
// touched: the commit is made by one git fast-import, which writes the
// blobs, the tree, the commit and the branch, and the branch and from
// are read from disk when they are plain branches (one git process, where
// a process per blob and per plumbing step cost the test suites most of
// their time).
func Commit(repo, branch, from string, files map[string]string, message string) (string, error) {
	parent := ResolveRef(repo, "refs/heads/"+branch)
	if parent == "" && from != "" {
		// A branch tip is a commit; a tag, a SHA or an expression is
		// git's to peel and check.
		var err error
		if strings.HasPrefix(from, "refs/heads/") {
			parent, _ = ReadRef(repo, from)
		}
		if parent == "" {
			if parent, err = Git(repo, "rev-parse", "--verify", from+"^{commit}"); err != nil {
				return "", err
			}
		}
	}
	if !strings.HasSuffix(message, "\n") {
		message += "\n" // as commit-tree -m ends it
	}
	var in strings.Builder
	fmt.Fprintf(&in, "commit refs/heads/%s\nmark :1\n", branch)
	fmt.Fprintf(&in, "author fixture <fixture@example.invalid> now\ncommitter fixture <fixture@example.invalid> now\n")
	fmt.Fprintf(&in, "data %d\n%s", len(message), message)
	if parent != "" {
		fmt.Fprintf(&in, "from %s\n", parent)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		content := files[p]
		if content == Delete {
			fmt.Fprintf(&in, "D %s\n", quotePath(p))
			continue
		}
		mode := "100644"
		if strings.HasPrefix(content, Executable) {
			mode, content = "100755", strings.TrimPrefix(content, Executable)
		}
		if strings.HasPrefix(content, Symlink) {
			mode, content = "120000", strings.TrimPrefix(content, Symlink)
		}
		fmt.Fprintf(&in, "M %s inline %s\ndata %d\n%s\n", mode, quotePath(p), len(content), content)
	}
	in.WriteString("\nget-mark :1\n")
	// The objects stay in fast-import's pack (a small one is otherwise
	// loosened by one more process), and a fixture needs no fsync.
	sha, err := gitIn(repo, nil, in.String(), "-c", "fastimport.unpackLimit=0", "-c", "core.fsync=none",
		"fast-import", "--quiet", "--force", "--date-format=now")
	if err != nil {
		return "", err
	}
	return sha, nil
}

// quotePath writes a path as fast-import reads it: as is, or C-quoted
// when it starts with a quote or holds a control character.
func quotePath(p string) string {
	if !strings.HasPrefix(p, `"`) && !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return p
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Tag creates a lightweight tag at rev.
func Tag(repo, name, rev string) error {
	_, err := Git(repo, "tag", name, rev)
	return err
}

// Handler serves every bare repository below root over git's smart HTTP
// protocol (clone, fetch and push), at /<path relative to root>.
func Handler(root string) http.Handler {
	return &cgi.Handler{
		Path: gitHTTPBackend(),
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
	}
}

var (
	backendOnce sync.Once
	backendPath string
)

func gitHTTPBackend() string {
	backendOnce.Do(func() {
		backendPath = "/usr/lib/git-core/git-http-backend"
		if out, err := exec.Command("git", "--exec-path").Output(); err == nil {
			backendPath = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
		}
	})
	return backendPath
}

// Server is a git smart-HTTP server on 127.0.0.1.
type Server struct {
	URL string // http://127.0.0.1:port
	srv *http.Server
	ln  net.Listener
}

// Serve starts serving the repositories below root on a free loopback port.
func Serve(root string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln, srv: &http.Server{Handler: Handler(root)}}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }
