package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/phony"
)

// procKB reads a "Key:   N kB" line of /proc/pid/status.
func procKB(t *testing.T, pid int, key string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status %s: %v", pid, line, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, key)
	return 0
}

// metric reads one unlabelled sample from the service's /metrics.
func (w *world) metric(name string) float64 {
	w.t.Helper()
	resp, err := http.Get(w.url + "/metrics")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				w.t.Fatal(err)
			}
			return f
		}
	}
	w.t.Fatalf("/metrics has no %s", name)
	return 0
}

// announce opens a connection that announces a body of length bytes and
// sends first of them.
func announce(t *testing.T, addr string, length int, first []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: %s\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: attack\r\n"+
		"X-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, length)
	if _, err := conn.Write(first); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestUnauthenticatedClientsCannotGrowTheService attacks the real serve
// process before any signature is checked: 32 connections announce
// GitHub's largest body (25 MiB) and send one byte, then 32 more send
// all 25 MiB as fast as loopback goes. Allocating by the announced length
// took the service from 20 MB to 2 GB; its peak RSS (VmHWM) must stay
// under 150 MB, and a signed delivery must still get through.
func TestUnauthenticatedClientsCannotGrowTheService(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	addr := freeAddr(t)
	logs := &syncBuffer{}
	cmd := w.startServe(bin, addr, t.TempDir(), logs, "--max-in-flight", "64MB", "--log-level", "warn")
	pid := cmd.Process.Pid
	const clients, announced = 32, 25 << 20
	const limitKB = 150 << 10
	start := procKB(t, pid, "VmHWM")

	for i := 0; i < clients; i++ {
		announce(t, addr, announced, []byte("{"))
	}
	w.waitFor("the service to read the 32 slow bodies", func() bool {
		return w.metric("workspace_bot_webhook_body_bytes_in_flight") >= clients
	})
	held := w.metric("workspace_bot_webhook_body_bytes_in_flight")
	pr := w.openPR("acme/core", "beside-attack", "", map[string]string{"README": "x\n"})
	w.send("pull_request", w.prPayload("opened", "acme/core", pr))
	slowPeak := procKB(t, pid, "VmHWM")
	if held > clients*64<<10 {
		t.Errorf("%.0f bytes held for %d bodies of one byte", held, clients)
	}

	// Now the bytes arrive: 800 MiB offered, at most 64 MiB held.
	var wg sync.WaitGroup
	codes := make(chan int, clients)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for i := 0; i < clients; i++ {
		conn := announce(t, addr, announced, []byte("{"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			go func() {
				for sent := 1; sent < announced; sent += len(chunk) {
					if _, err := conn.Write(chunk[:min(len(chunk), announced-sent)]); err != nil {
						return
					}
				}
			}()
			conn.SetReadDeadline(time.Now().Add(time.Minute))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				codes <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	peak := procKB(t, pid, "VmHWM")
	t.Logf("serve VmHWM: %d MiB at start, %d MiB with %d one-byte bodies of %d MiB announced (%.0f KiB held), %d MiB after %d full unsigned bodies (answers %v)",
		start>>10, slowPeak>>10, clients, announced>>20, held/1024, peak>>10, clients, count)
	if slowPeak > limitKB || peak > limitKB {
		t.Errorf("serve's peak RSS reached %d MiB (slow clients: %d MiB), over %d MiB", peak>>10, slowPeak>>10, limitKB>>10)
	}
	// Which of the bodies are read whole before the bound is full depends
	// on how the machine schedules 32 writers; that some are not does not.
	if count[http.StatusServiceUnavailable] == 0 || count[http.StatusUnauthorized]+count[http.StatusServiceUnavailable] != clients {
		t.Errorf("answers to the full bodies %v: want each 401 (read and refused) or 503 (past the bound), and some 503", count)
	}
	if count[http.StatusAccepted] != 0 {
		t.Errorf("an unsigned body was accepted: %v", count)
	}

	// The service is still there, and its bound is free again.
	w.waitFor("the bytes in flight to drain", func() bool {
		return w.metric("workspace_bot_webhook_body_bytes_in_flight") <= clients*64<<10
	})
	// A full unsigned body alone is read whole and refused.
	full := announce(t, addr, announced, []byte("{"))
	for sent := 1; sent < announced; sent += len(chunk) {
		if _, err := full.Write(chunk[:min(len(chunk), announced-sent)]); err != nil {
			t.Fatal(err)
		}
	}
	full.SetReadDeadline(time.Now().Add(time.Minute))
	if resp, err := http.ReadResponse(bufio.NewReader(full), nil); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a full unsigned body alone: %v %v, want 401", resp, err)
	}
	body := w.prPayload("synchronize", "acme/core", pr)
	resp, err := phony.Send(t.Context(), w.url+"/webhook", "pull_request", "", body, secret)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a signed delivery after the attack: %d\n%s", resp.StatusCode, logs.String())
	}
}
