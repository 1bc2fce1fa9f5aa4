package pgtest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed watchdog.sh
var watchdogScript string

// settings tune the server for tests. Nothing a test writes has to
// survive a crash of the machine, so nothing waits for the disk; and the
// server shares a small machine with the tests that use it.
var settings = []string{
	"fsync=off",
	"synchronous_commit=off",
	"full_page_writes=off",
	// Parallel tests each hold a pool of their own.
	"max_connections=200",
	"shared_buffers=32MB",
	"huge_pages=off",
	// A checkpoint comes with every CREATE DATABASE; their lines would push
	// what matters out of the output kept for a failure.
	"log_checkpoints=off",
}

const (
	// initdb takes one to two seconds on a quiet machine; a loaded one
	// may take many times that.
	startTimeout = 2 * time.Minute
	// A fast shutdown ends the sessions tests left open, and takes well
	// under a second.
	stopTimeout = time.Minute
)

// errPortTaken is a start that lost its port to another process between
// the look for a free one and the server's bind.
var errPortTaken = errors.New("pgtest: the port was taken")

// cluster is a server this binary started: initdb, then postgres, under
// the watchdog (watchdog.sh) that stops it and removes its directory when
// the binary closes its end of the pipe or ends.
type cluster struct {
	// root holds the cluster (root/data) and the server's Unix socket.
	root string
	port int
	cmd  *exec.Cmd // the watchdog
	// hold is the only writing end of the watchdog's standard input.
	hold io.WriteCloser
	done chan struct{} // closed when the watchdog has exited
	err  error         // how the watchdog exited, once done
	out  *tail
}

// startLocal starts the binary's own server, or says why it cannot.
func startLocal() (*server, string) {
	dir, err := findBinaries()
	if err != nil {
		return nil, err.Error()
	}
	cred, err := runAs()
	if err != nil {
		return nil, err.Error()
	}
	c, err := startCluster(dir, cred)
	// Another process may take the free port between the look and the
	// server's bind: then the start is tried again on another.
	for try := 1; errors.Is(err, errPortTaken) && try < 3; try++ {
		c, err = startCluster(dir, cred)
	}
	if err != nil {
		return nil, err.Error()
	}
	s, err := connect(c.url())
	if err != nil {
		c.stop()
		return nil, fmt.Sprintf("pgtest: the PostgreSQL server started from %s: %v", dir, err)
	}
	s.local = c
	return s, ""
}

// startCluster makes a cluster in a new temporary directory and starts
// its server, run as cred (nil: as this process), and waits until it
// accepts connections.
func startCluster(dir string, cred *syscall.Credential) (*cluster, error) {
	root, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: a directory for the PostgreSQL server: %w; set TMPDIR to a writable directory", err)
	}
	if cred != nil {
		if err := os.Chown(root, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(root)
			return nil, fmt.Errorf("pgtest: give the PostgreSQL server's directory to the user it runs as: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	// A Unix socket's path has room for about a hundred bytes; with a
	// long TMPDIR the server listens on TCP alone.
	sock := root
	if len(sock) > 80 {
		sock = ""
	}
	// From a file, so that ps shows what runs rather than the script.
	script := filepath.Join(root, "watchdog.sh")
	if err := os.WriteFile(script, []byte(watchdogScript), 0o644); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("pgtest: write PostgreSQL's watchdog: %w", err)
	}
	args := []string{script, root, filepath.Join(dir, "initdb"), filepath.Join(dir, "postgres"),
		"-D", filepath.Join(root, "data"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", sock}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	c := &cluster{root: root, port: port, done: make(chan struct{}), out: &tail{}}
	c.cmd = exec.Command("/bin/sh", args...)
	// The user the server runs as may not be able to reach the tests'
	// directory, and PG* variables of the tests' environment are not
	// for this server.
	c.cmd.Dir = root
	c.cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	// A process group of its own, so that a Ctrl-C meant for the tests
	// reaches the server only through the watchdog, after the binary.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	c.cmd.WaitDelay = 10 * time.Second
	if c.hold, err = c.cmd.StdinPipe(); err == nil {
		err = c.cmd.Start()
	}
	if err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("pgtest: start PostgreSQL's watchdog: %w", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	if err := c.waitReady(dir); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitReady waits until the server accepts a connection, or its watchdog
// exits, or startTimeout passes.
func (c *cluster) waitReady(dir string) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	u := c.url()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, u.String())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-c.done:
			out := c.out.String()
			if strings.Contains(out, "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("pgtest: PostgreSQL from %s did not start (%v). Its output:\n%s\n"+
				"Fix what it says, or set %s to the postgres:// URL of a running server whose user may CREATE DATABASE",
				dir, c.err, out, envServer)
		case <-deadline.C:
			return fmt.Errorf("pgtest: PostgreSQL from %s did not accept connections within %s (%v). Its output:\n%s",
				dir, startTimeout, err, c.out)
		case <-poll.C:
		}
	}
}

// url is the URL of the server's postgres database, as its superuser.
func (c *cluster) url() url.URL {
	return url.URL{Scheme: "postgres", User: url.User("postgres"),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/postgres", RawQuery: "sslmode=disable"}
}

// stop closes the watchdog's pipe, which makes it stop the server and
// remove its directory, and waits for that.
func (c *cluster) stop() error {
	c.hold.Close()
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
		os.RemoveAll(c.root)
		return fmt.Errorf("pgtest: PostgreSQL in %s did not stop within %s of the tests' end, and was killed. Its output:\n%s", c.root, stopTimeout, c.out)
	}
	// The watchdog has removed the directory unless its user could not.
	rmErr := os.RemoveAll(c.root)
	if c.err != nil {
		return fmt.Errorf("pgtest: PostgreSQL in %s ended with %v. Its output:\n%s", c.root, c.err, c.out)
	}
	return rmErr
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port on 127.0.0.1 for PostgreSQL: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the end of the server's output, to show when it fails.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
