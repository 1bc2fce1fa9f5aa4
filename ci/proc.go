package ci

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/sandbox"
)

// straggleWait is how long output is still read after an unsandboxed
// command's process group was killed, for a process that left the group
// (setsid) yet holds the pipe; after it the pipe is closed under it. A
// sandboxed command has no stragglers: its namespace dies with it.
const straggleWait = 2 * time.Second

// runProc runs s (its Stdout and Stderr aside) and copies its output to
// the given writers (the same writer for both gets one pipe, so the
// output interleaves as it was written). When ctx ends, everything the
// command started is killed; when it exits on its own, whatever it left
// running is killed too, so a step cannot outlive itself or hold the run
// open. A nil error means exit 0; an exit is a *sandbox.ExitError.
func runProc(ctx context.Context, start func(sandbox.Spec) (*sandbox.Process, error), s sandbox.Spec, stdout, stderr io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, err := lookPath(s.Path, s.Env)
	if err != nil {
		return err
	}
	s.Path = path

	// Our own pipes: the command's descendants may hold them after it
	// exits, and nothing here may wait on them for ever.
	var readers []*os.File
	var copying sync.WaitGroup
	pipe := func(w io.Writer) (*os.File, error) {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		if w == nil {
			w = io.Discard
		}
		readers = append(readers, pr)
		copying.Add(1)
		go func() {
			defer copying.Done()
			io.Copy(w, pr)
		}()
		return pw, nil
	}
	closeAll := func() {
		for _, r := range readers {
			r.Close()
		}
		copying.Wait()
	}
	outW, err := pipe(stdout)
	if err != nil {
		closeAll()
		return err
	}
	errW := outW
	if stderr != stdout {
		if errW, err = pipe(stderr); err != nil {
			outW.Close()
			closeAll()
			return err
		}
	}
	s.Stdout, s.Stderr = outW, errW
	p, err := start(s)
	outW.Close()
	if errW != outW {
		errW.Close()
	}
	if err != nil {
		closeAll()
		return err
	}

	waited := make(chan error, 1)
	go func() { waited <- p.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		p.Kill()
		err = <-waited
	}
	p.Kill()
	drained := make(chan struct{})
	go func() { copying.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(straggleWait):
	}
	closeAll()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// lookPath finds name on the PATH of env, the one the command gets.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New(name + " not found on the steps' PATH " + path)
}
