package webhook

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// slowClient opens a connection that announces length bytes of a signed
// looking delivery and sends only first of them, then waits.
func slowClient(t *testing.T, url string, length int64, first []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: slow\r\n"+
		"X-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", length)
	if _, err := conn.Write(first); err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitInFlight waits until the handler holds at least n bytes of bodies.
func waitInFlight(t *testing.T, h *Handler, n int64) {
	t.Helper()
	waitBytes(t, h, fmt.Sprintf("at least %d", n), func(used int64) bool { return used >= n })
}

// waitInFlightExactly waits until exactly n bytes are in flight: a body
// that grows holds its old buffer and the new one for a moment, so "at
// least" can be seen before the growth settles.
func waitInFlightExactly(t *testing.T, h *Handler, n int64) {
	t.Helper()
	waitBytes(t, h, fmt.Sprintf("exactly %d", n), func(used int64) bool { return used == n })
}

func waitBytes(t *testing.T, h *Handler, want string, ok func(int64) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // far beyond a loaded machine's delay
	for !ok(h.inFlight.used.Load()) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes in flight, want %s", h.inFlight.used.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestAnnouncedLengthAllocatesNothing(t *testing.T) {
	// 32 unauthenticated clients announce GitHub's largest body and send
	// one byte each. Allocating by the announced length held 800 MiB
	// here; now each holds the first buffer, and a real delivery still
	// goes through beside them.
	ts := newTestServer(t, Options{})
	before := heapInUse()
	const clients = 32
	for i := 0; i < clients; i++ {
		slowClient(t, ts.URL, MaxBody, []byte("{"))
	}
	waitInFlight(t, ts.Handler, clients)
	grown := int64(heapInUse()) - int64(before)
	if held := ts.Handler.inFlight.used.Load(); held > clients*firstRead {
		t.Errorf("%d bytes reserved for %d one-byte bodies, want at most %d", held, clients, clients*firstRead)
	}
	if grown > 16<<20 {
		t.Errorf("the heap grew by %d MiB for %d clients that sent one byte each", grown>>20, clients)
	}
	body := readFixture(t, "pull_request/opened.payload.json")
	if code, _, msg := post(t, ts.URL, signed("pull_request", "beside-the-slow-ones", body), bytes.NewReader(body)); code != http.StatusAccepted {
		t.Fatalf("a real delivery beside the slow clients: %d %s", code, msg)
	}
	t.Logf("heap grew %d KiB for %d clients announcing %d MiB", grown>>10, clients, MaxBody>>20)
}

func TestBytesInFlightAreBounded(t *testing.T) {
	// A client sends 100 KB of the 200 KB it announced and stalls,
	// holding a 128 KiB buffer of a 192 KiB bound. A 28 KB delivery
	// still fits beside it; a 70 KB one, which needs 64 KiB and then 70
	// KB while it grows, does not and is answered 503 (GitHub redelivers
	// it later), and goes through once the slow client has gone.
	const bound = 192 << 10
	ts := newTestServer(t, Options{MaxInFlight: bound})
	slow := slowClient(t, ts.URL, 200_000, bytes.Repeat([]byte(" "), 100_000))
	waitInFlightExactly(t, ts.Handler, 128<<10)

	small := readFixture(t, "pull_request/opened.payload.json")
	if code, _, msg := post(t, ts.URL, signed("pull_request", "small", small), bytes.NewReader(small)); code != http.StatusAccepted {
		t.Fatalf("a %d-byte delivery within the bound: %d %s", len(small), code, msg)
	}
	large := append(append([]byte(nil), small...), bytes.Repeat([]byte(" "), 70_000-len(small))...)
	code, hdr, msg := post(t, ts.URL, signed("pull_request", "large", large), bytes.NewReader(large))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(msg, "in flight") {
		t.Fatalf("a delivery past the bound: %d %v %q, want 503 with Retry-After", code, hdr, msg)
	}
	if held := ts.Handler.inFlight.used.Load(); held != 128<<10 {
		t.Fatalf("%d bytes in flight once the refused request ended, want the slow client's %d", held, 128<<10)
	}

	slow.Close()
	deadline := time.Now().Add(10 * time.Second)
	for ts.Handler.inFlight.used.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the closed client's buffer was never given back: %d bytes in flight", ts.Handler.inFlight.used.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, _, msg := post(t, ts.URL, signed("pull_request", "large", large), bytes.NewReader(large)); code != http.StatusAccepted {
		t.Fatalf("the redelivery once the slow client left: %d %s", code, msg)
	}
	if n, _ := ts.Store.CountDeliveries(t.Context(), ""); n != 2 {
		t.Fatalf("%d deliveries stored, want the small one and the redelivered large one", n)
	}
}

func TestReadBodyGrowsWithWhatArrives(t *testing.T) {
	b := &budget{limit: 1 << 30}
	for _, tc := range []struct {
		name      string
		size      int
		announced int64
	}{
		{"empty", 0, 0},
		{"small announced", 300, 300},
		{"exactly the first buffer", firstRead, firstRead},
		{"large announced", 1<<20 + 7, 1<<20 + 7},
		{"large unannounced", 1<<20 + 7, -1},
	} {
		want := bytes.Repeat([]byte("x"), tc.size)
		got, held, err := readBody(bytes.NewReader(want), tc.announced, MaxBody, b)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v", tc.name, len(got), err)
		}
		if held < int64(cap(got)) || held > 2*int64(tc.size)+firstRead {
			t.Errorf("%s: %d bytes held for a body of %d in a buffer of %d", tc.name, held, tc.size, cap(got))
		}
		if b.used.Load() != held {
			t.Errorf("%s: %d bytes reserved, %d held", tc.name, b.used.Load(), held)
		}
		b.give(held)
	}
	// A read that fails gives back what it held.
	_, held, err := readBody(failing{}, MaxBody, MaxBody, b)
	if err == nil || held == 0 {
		t.Errorf("failing read: held %d, err %v", held, err)
	}
	b.give(held)
	if b.used.Load() != 0 {
		t.Errorf("%d bytes still reserved", b.used.Load())
	}
}

type failing struct{}

func (failing) Read(p []byte) (int, error) { return 0, io.ErrUnexpectedEOF }
