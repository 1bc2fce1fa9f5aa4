package egress

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve starts p on a loopback listener, as the sandbox's init hands it
// one, and stops it when the test ends.
func serve(t *testing.T, p *Proxy) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Serve(l); close(done) }()
	t.Cleanup(func() {
		l.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return once its listener was closed")
		}
	})
	return l.Addr().String()
}

// request sends raw to the proxy at addr and returns the first line of
// the answer and the rest.
func request(t *testing.T, addr, raw string) (status, rest string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, raw)
	b, _ := io.ReadAll(c)
	status, rest, _ = strings.Cut(string(b), "\r\n")
	return status, rest
}

// TestRefusesThisMachineAndMetadata: loopback, this machine's own
// addresses, link-local metadata (IPv4, and AWS's IPv6 one), multicast
// and the unspecified address are refused, by CONNECT and by plain
// HTTP, with 403 and a line naming why; a name that resolves to loopback
// is refused like the address.
func TestRefusesThisMachineAndMetadata(t *testing.T) {
	var hits int
	var mu sync.Mutex
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		io.WriteString(w, "local service\n")
	}))
	defer local.Close()
	port := local.Listener.Addr().(*net.TCPAddr).Port
	var refused []string
	var rmu sync.Mutex
	p := &Proxy{DialTimeout: 2 * time.Second, Refused: func(l string) { rmu.Lock(); refused = append(refused, l); rmu.Unlock() }}
	addr := serve(t, p)
	for _, target := range []string{
		local.Listener.Addr().String(), fmt.Sprintf("localhost:%d", port), "169.254.169.254:80", "[fd00:ec2::254]:80",
		"[::1]:80", "0.0.0.0:80", "224.0.0.1:80", "[::ffff:127.0.0.1]:80",
	} {
		status, body := request(t, addr, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
		if !strings.Contains(status, "403") || !strings.Contains(body, "workspace-bot egress proxy") {
			t.Errorf("CONNECT %s: %s\n%s", target, status, body)
		}
		status, _ = request(t, addr, "GET http://"+target+"/ HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
		if !strings.Contains(status, "403") {
			t.Errorf("GET http://%s/: %s", target, status)
		}
	}
	if hits != 0 {
		t.Errorf("the local service was reached %d times", hits)
	}
	rmu.Lock()
	defer rmu.Unlock()
	if len(refused) != 16 || !strings.Contains(strings.Join(refused, "\n"), "is a link-local address, where clouds serve instance metadata") {
		t.Errorf("refusals told: %d\n%s", len(refused), strings.Join(refused, "\n"))
	}
	if ip := own4(t); ip.IsValid() {
		if why := p.Why(netip.AddrPortFrom(ip, 80)); !strings.Contains(why, "this machine") {
			t.Errorf("this machine's address %s: %q", ip, why)
		}
	}
}

// own4 is one of this machine's non-loopback IPv4 addresses, if any.
func own4(t *testing.T) netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && !ip.IsLoopback() {
				return ip.Unmap()
			}
		}
	}
	return netip.Addr{}
}

// TestTakesAStepWhereItMayGo: an allowed address is reached, through a
// CONNECT tunnel (what pip does for https) and by a plain-HTTP request,
// with what the client sent after its CONNECT line passed on.
func TestTakesAStepWhereItMayGo(t *testing.T) {
	index := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "simple index at "+r.URL.Path+"\n")
	}))
	defer index.Close()
	target := index.Listener.Addr().String()
	addr := serve(t, &Proxy{Allow: []netip.AddrPort{netip.MustParseAddrPort(target)}})

	status, body := request(t, addr, "GET http://"+target+"/simple/ HTTP/1.1\r\nHost: "+target+"\r\nConnection: close\r\n\r\n")
	if !strings.Contains(status, "200") || !strings.Contains(body, "simple index at /simple/") {
		t.Errorf("GET through the proxy: %s\n%s", status, body)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The request inside the tunnel goes in the same write as the CONNECT.
	io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\nGET /pkg/ HTTP/1.0\r\n\r\n")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	rest, _ := io.ReadAll(br)
	if !strings.Contains(line, "200 Connection established") || !strings.Contains(string(rest), "simple index at /pkg/") {
		t.Errorf("CONNECT: %q\n%s", line, rest)
	}
}

// TestGoesThroughTheMachinesProxy: where the machine has a proxy of its
// own, tunnels and requests go through it, even though it is on this
// machine; a target that resolves here to loopback is still refused.
func TestGoesThroughTheMachinesProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host)
		mu.Unlock()
		if r.Method == http.MethodConnect {
			w.WriteHeader(http.StatusOK)
			hj, _ := w.(http.Hijacker)
			c, buf, _ := hj.Hijack()
			buf.Flush()
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nthrough the tunnel\n")
			c.Close()
			return
		}
		io.WriteString(w, "from upstream\n")
	}))
	defer upstream.Close()
	up, _ := url.Parse(upstream.URL)
	addr := serve(t, &Proxy{Upstream: func(*http.Request) (*url.URL, error) { return up, nil }})

	status, body := request(t, addr, "GET http://pypi.example/simple/ HTTP/1.1\r\nHost: pypi.example\r\nConnection: close\r\n\r\n")
	if !strings.Contains(status, "200") || !strings.Contains(body, "from upstream") {
		t.Errorf("GET via the upstream: %s\n%s", status, body)
	}
	status, body = request(t, addr, "CONNECT pypi.example:443 HTTP/1.1\r\nHost: pypi.example:443\r\n\r\n")
	if !strings.Contains(status, "200") || !strings.Contains(body, "through the tunnel") {
		t.Errorf("CONNECT via the upstream: %s\n%s", status, body)
	}
	status, _ = request(t, addr, "CONNECT localhost:22 HTTP/1.1\r\nHost: localhost:22\r\n\r\n")
	if !strings.Contains(status, "403") {
		t.Errorf("CONNECT localhost via the upstream: %s", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "GET pypi.example" || seen[1] != "CONNECT pypi.example:443" {
		t.Errorf("the upstream saw %q", seen)
	}
}

// TestServeEndsItsConnections: once the listener is closed, Serve closes
// the tunnels it holds and returns (serve's cleanup checks it returns).
func TestServeEndsItsConnections(t *testing.T) {
	hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hold.Close()
	target := hold.Listener.Addr().String()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { (&Proxy{Allow: []netip.AddrPort{netip.MustParseAddrPort(target)}}).Serve(l); close(done) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "200") {
		t.Fatalf("CONNECT: %q", line)
	}
	l.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still holds an open tunnel after its listener closed")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the tunnel is still open")
	}
}
