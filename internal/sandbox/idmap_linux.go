package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// usernsArg0 is the argv[0] of the process that holds an IDMap's user
// namespace while it is opened: it waits for its stdin to close.
const usernsArg0 = "workspace-bot-sandbox-userns"

// IDMap is a user namespace whose one mapping takes the service's uid
// and gid to a build user's. An idmapped mount through it (Linux 5.12)
// shows the service's files as the user's, and files the user writes
// there land on disk as the service's: the build root is handed to the
// user for a step without a chown, and nothing the step leaves is owned
// by anyone but the service, so the service's git finds nothing of
// "dubious ownership" in it afterwards.
type IDMap struct {
	ns   *os.File
	user *User
}

// NewIDMap makes the mapping from this process's uid and gid to u's.
func NewIDMap(u *User) (*IDMap, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	defer w.Close()
	attr := &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: int(u.UID), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: int(u.GID), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	p, err := os.StartProcess("/proc/self/exe", []string{usernsArg0}, &os.ProcAttr{Dir: "/", Files: []*os.File{r, nil, nil}, Sys: attr})
	if err != nil {
		return nil, fmt.Errorf("make a user namespace for uid %d: %w", u.UID, err)
	}
	fd, err := syscall.Open("/proc/"+strconv.Itoa(p.Pid)+"/ns/user", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	w.Close()
	p.Wait()
	if err != nil {
		return nil, fmt.Errorf("open the user namespace for uid %d: %w", u.UID, err)
	}
	return &IDMap{ns: os.NewFile(uintptr(fd), "userns"), user: u}, nil
}

// User is the user the mapping shows the service's files as owned by.
func (m *IDMap) User() *User { return m.user }

// Close releases the namespace.
func (m *IDMap) Close() {
	if m != nil {
		m.ns.Close()
	}
}

// holdUserns is the holder's whole life.
func holdUserns() {
	var b [1]byte
	for {
		if n, err := os.Stdin.Read(b[:]); n == 0 || err != nil {
			return
		}
	}
}
