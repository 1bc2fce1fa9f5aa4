package server

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestSlowClientsAreCutOff holds connections open the way a slow-loris
// client does, against the HTTP server Serve runs: one never finishes its
// headers, one never finishes its body. Each is closed once its timeout
// passes, not left to hold a connection and its buffers.
func TestSlowClientsAreCutOff(t *testing.T) {
	s := &Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }),
		opt:     Options{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond},
	}
	srv := s.httpServer()
	if srv.MaxHeaderBytes != maxHeaderBytes || srv.IdleTimeout != idleTimeout {
		t.Fatalf("server %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for _, tc := range []struct {
		name, sent string
		timeout    time.Duration
	}{
		{"headers never finished", "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Git", s.opt.ReadHeaderTimeout},
		{"body never finished", "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 26214400\r\n\r\n{", s.opt.ReadTimeout},
	} {
		// The server's clock starts when it accepts, which can be before
		// Dial returns here: time from before the dial.
		start := time.Now()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, tc.sent)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, conn) // returns when the server closes
		took := time.Since(start)
		conn.Close()
		if took < tc.timeout || took > tc.timeout+3*time.Second {
			t.Errorf("%s: closed after %s, want just after %s", tc.name, took, tc.timeout)
		}
	}
	if d := (&Server{}).httpServer(); d.ReadHeaderTimeout != DefaultReadHeaderTimeout || d.ReadTimeout != DefaultReadTimeout {
		t.Errorf("defaults: %s and %s", d.ReadHeaderTimeout, d.ReadTimeout)
	}
}
