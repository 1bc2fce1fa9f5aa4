package secretenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Protect, called first thing in main with os.Args, makes the process
// undumpable and, when the environment or the command line holds a
// credential of spec, re-executes the same binary (same pid) without it,
// handing it over through a pipe; Protect then returns in the new image
// with the handover. Nothing else may have started yet: the exec ends
// every goroutine.
func Protect(spec Spec, argv []string) (*Secrets, error) {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("secretenv: make the process undumpable: %w", err)
	}
	if fd, ok := os.LookupEnv(fdVar); ok {
		return receive(fd)
	}
	if len(argv) == 0 {
		return &Secrets{}, nil
	}
	env, args, h := split(spec, os.Environ(), argv[1:])
	if h.empty() {
		return &Secrets{}, nil
	}
	return nil, reexec(append([]string{argv[0]}, args...), env, h)
}

// reexec writes the handover into a pipe whose read end survives the
// exec, and executes this binary again with env and argv.
func reexec(argv, env []string, h handover) error {
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("secretenv: encode the handover: %w", err)
	}
	if len(data) > maxHandover {
		return fmt.Errorf("secretenv: the credentials take %d bytes, more than the %d a pipe holds; give the App key as a file path", len(data), maxHandover)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("secretenv: pipe: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("secretenv: write the handover: %w", err)
	}
	w.Close()
	fd := r.Fd()
	if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
		return fmt.Errorf("secretenv: keep the handover open across exec: %w", err)
	}
	env = append(env, fdVar+"="+strconv.Itoa(int(fd)))
	// /proc/self/exe is this very binary, even if its path was replaced.
	err = syscall.Exec("/proc/self/exe", argv, env)
	runtime.KeepAlive(r)
	return fmt.Errorf("secretenv: re-execute workspace-bot without credentials in its environment: %w", err)
}

// receive reads the handover from the descriptor named by fdVar and
// closes it.
func receive(fdText string) (*Secrets, error) {
	os.Unsetenv(fdVar)
	// Executed as /proc/self/exe, the process is named "exe" in ps, top
	// and pkill: give it its own name back. Through /proc/self/comm, the
	// process's (its first thread's) name: PR_SET_NAME names the calling
	// thread, which need not be that one once the Go scheduler runs.
	if len(os.Args) > 0 {
		base := filepath.Base(os.Args[0])
		if os.WriteFile("/proc/self/comm", []byte(base), 0) != nil {
			name := append([]byte(base), 0)
			unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&name[0])), 0, 0, 0)
		}
	}
	n, err := strconv.Atoi(fdText)
	if err != nil || n < 3 {
		return nil, fmt.Errorf("secretenv: %s=%q: %w", fdVar, fdText, ErrSetOutside)
	}
	var st unix.Stat_t
	if err := unix.Fstat(n, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, fmt.Errorf("secretenv: %s=%d is not the pipe workspace-bot hands its credentials over in: %w", fdVar, n, ErrSetOutside)
	}
	f := os.NewFile(uintptr(n), "credentials")
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHandover+1))
	if err != nil {
		return nil, fmt.Errorf("secretenv: read the handover: %w", err)
	}
	var h handover
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, errors.New("secretenv: the handover could not be read: " + err.Error())
	}
	return &Secrets{env: h.Env, Warnings: h.Warnings}, nil
}
