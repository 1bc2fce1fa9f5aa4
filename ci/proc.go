package ci

import (
	"context"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// straggleWait is how long output is still read after a command's process
// group was killed, for a process that left the group (setsid) yet holds
// the pipe; after it the pipe is closed under it.
const straggleWait = 2 * time.Second

// runProc runs name with args in dir in a process group of its own,
// copying its stdout and stderr to the given writers (the same writer for
// both gets one pipe, so the output interleaves as it was written). When
// ctx ends, the whole group is killed, so a command's children die with
// it; when the command exits on its own, whatever it left running in the
// background is killed too, so a step cannot outlive itself or hold the run
// open. A nil error means exit 0.
func runProc(ctx context.Context, dir string, env []string, stdout, stderr io.Writer, name string, args ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	// Our own pipes rather than exec's: exec waits for every holder of its
	// pipes to exit before Wait returns, which a backgrounded child would
	// stretch to forever.
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
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	if errW != outW {
		errW.Close()
	}
	if err != nil {
		closeAll()
		return err
	}

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	select {
	case err = <-waited:
	case <-ctx.Done():
		killGroup(pgid)
		err = <-waited
	}
	killGroup(pgid)
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

// killGroup kills every process in the group. ESRCH (the group is gone)
// is the usual case after a clean exit and needs no report.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
