package sandbox

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/cgroup"
)

// throwaway is a uid no account has.
var throwaway = &User{Name: "throwaway", UID: 2147483001, GID: 2147483001, Home: "/nonexistent"}

func needRoot(t *testing.T) {
	t.Helper()
	needSandbox(t)
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root; this test runs as uid", os.Geteuid())
	}
}

// TestBuildRootHandedOver: through an ID mapping, a build root only root
// may enter (under a 0700 directory, itself 0700) is the build user's to
// write; what it writes is root's on disk; a read-only path bound the
// same way is readable and not writable; what else the 0700 directory
// holds is gone from the sandbox.
func TestBuildRootHandedOver(t *testing.T) {
	needRoot(t)
	m, err := NewIDMap(throwaway)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	home := t.TempDir() // 0700, as /root is
	root := filepath.Join(home, "data", "roots", "0")
	objects := filepath.Join(home, "data", "mirrors", "x.git", "objects")
	for _, d := range []string{root, objects} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(objects, "pack"), []byte("objects\n"), 0o600)
	os.WriteFile(filepath.Join(home, "id_rsa"), []byte("KEY\n"), 0o644)
	if err := Probe(Spec{User: throwaway, IDMap: m, Writable: []string{root}}); err != nil {
		t.Fatalf("this file system cannot be handed over: %v", err)
	}
	out, err := run(t, Spec{Isolate: true, User: throwaway, IDMap: m, Dir: root, Writable: []string{root}, ReadOnly: []string{objects},
		Hidden: []string{filepath.Join(home, "data")}, Env: []string{"PATH=/usr/bin:/bin", "OBJ=" + objects, "HOME_DIR=" + home}}, `
		id -u
		echo built > built && mkdir -p .venv/bin && echo "wrote the root"
		cat "$OBJ/pack"
		echo x >> "$OBJ/pack" && echo "changed objects"
		cat "$HOME_DIR/id_rsa" && echo "read the key"
		ls -A "$HOME_DIR" | tr '\n' ' '; echo
		true`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.HasPrefix(out, strconv.Itoa(int(throwaway.UID))+"\n") || !strings.Contains(out, "wrote the root") || !strings.Contains(out, "objects\n") {
		t.Errorf("the build user could not use what it was handed:\n%s", out)
	}
	if strings.Contains(out, "changed objects") || strings.Contains(out, "read the key") {
		t.Errorf("the build user changed or read what it was not handed:\n%s", out)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "built"), &st); err != nil || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("what the build user wrote is owned by %d:%d on disk, want root's: %v", st.Uid, st.Gid, err)
	}
}

// TestIsolatedNetwork: a NetIsolated command has only a loopback, up,
// and reaches nothing on the host's.
func TestIsolatedNetwork(t *testing.T) {
	needSandbox(t)
	if err := NetworkAvailable(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	out, err := run(t, Spec{Isolate: true, Net: NetIsolated}, `
		sed 1,2d /proc/net/dev | cut -d: -f1 | tr -d ' '
		cat /sys/class/net/lo/operstate 2>/dev/null
		bash -c 'exec 3<>/dev/tcp/127.0.0.1/`+port+`' 2>/dev/null && echo "reached the host"
		true`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if first, _, _ := strings.Cut(out, "\n"); first != "lo" || strings.Contains(out, "reached the host") || accepted.Load() != 0 {
		t.Errorf("the command's network is not its own loopback alone (%d accepted):\n%s", accepted.Load(), out)
	}
}

// TestEgressListenerHandedOver: a NetEgress command finds its proxy at
// EgressProxy, served by the function the service gave, which returns
// once the command has ended.
func TestEgressListenerHandedOver(t *testing.T) {
	needSandbox(t)
	served := make(chan struct{})
	proxy := func(l net.Listener) {
		defer close(served)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "served "+line)
			c.Close()
		}
	}
	out, err := run(t, Spec{Isolate: true, Net: NetEgress, Proxy: proxy}, `
		bash -c 'exec 3<>/dev/tcp/127.0.0.1/3128; echo "hello proxy" >&3; cat <&3'`)
	if err != nil || !strings.Contains(out, "served hello proxy") {
		t.Fatalf("%v\n%s", err, out)
	}
	<-served // Wait has returned: so has the proxy
}

// TestCommandInCgroup: a command given a cgroup is in it from its first
// instruction, with what it starts.
func TestCommandInCgroup(t *testing.T) {
	needSandbox(t)
	m, err := cgroup.Open()
	if err != nil {
		t.Skipf("no cgroup can be made here: %v", err)
	}
	g, err := m.New(cgroup.Limits{Pids: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	out, err := run(t, Spec{Isolate: true, Cgroup: g}, `sh -c 'cat /proc/self/cgroup'`)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, p := range g.Procs() {
		dir := filepath.Base(filepath.Dir(p))
		if !strings.Contains(out, "/"+dir+"\n") {
			t.Errorf("the command is not in %s:\n%s", filepath.Dir(p), out)
		}
	}
}

// TestKillRightAfterStart: a kill that reaches the box before the
// command's fork still kills it (it once let sleep 300 run its course).
func TestKillRightAfterStart(t *testing.T) {
	needSandbox(t)
	b, err := Open(Spec{Isolate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for i := 0; i < 20; i++ {
		p, err := b.Start(Spec{Path: "/bin/sleep", Args: []string{"sleep", "300"}, Dir: "/", Stdout: out, Stderr: out})
		if err != nil {
			t.Fatal(err)
		}
		p.Kill()
		done := make(chan error, 1)
		go func() { done <- p.Wait() }()
		select {
		case err := <-done:
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Signal != syscall.SIGKILL {
				t.Errorf("a killed command ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a command killed right after its start ran on")
		}
	}
}
