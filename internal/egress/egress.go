// Package egress is the HTTP proxy through which a sandboxed step with
// "egress" networking reaches the outside: package indexes, yes; this
// machine (the service's own port, every other local service), link-local
// addresses (the cloud metadata endpoints that hand out the host's
// credentials) and multicast, no.
//
// The step has a network namespace of its own with only a loopback; the
// sandbox's init listens at sandbox.EgressProxy inside it and hands the
// socket to the service, which serves it with Serve. Every connection is
// checked against the address it is really made to (after DNS, in the
// dialer's Control hook), so a name that resolves to 127.0.0.1 or
// 169.254.169.254 is refused like the address itself, and DNS answers
// that change between a check and the connection change nothing.
package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proxy serves the egress of one step.
type Proxy struct {
	// Allow lists addresses reachable even though the rules refuse them
	// (a package index on this machine, a test's server).
	Allow []netip.AddrPort
	// Upstream, when set, says which proxy a request must go through
	// (http.ProxyFromEnvironment: the machine's own proxy); nil, or a nil
	// URL, connects directly.
	Upstream func(*http.Request) (*url.URL, error)
	// Refused, when set, is told of each connection refused, in one line.
	Refused func(line string)
	// DialTimeout bounds one connection attempt (default 30s).
	DialTimeout time.Duration

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// metadata are cloud metadata addresses outside the link-local ranges.
var metadata = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// Why says why addr may not be reached from a step, or "" when it may.
func (p *Proxy) Why(addr netip.AddrPort) string {
	for _, a := range p.Allow {
		if a == addr {
			return ""
		}
	}
	ip := addr.Addr().Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address: the service and other local services are out of reach"
	case ip.IsLinkLocalUnicast():
		return "a link-local address, where clouds serve instance metadata and credentials"
	case ip.IsUnspecified():
		return "the unspecified address, which reaches this machine"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, m := range metadata {
		if ip == m {
			return "a cloud metadata address"
		}
	}
	if own(ip) {
		return "an address of this machine: the service and other local services are out of reach"
	}
	return ""
}

// own says whether ip is one of this machine's addresses.
func own(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// refusal is a connection the rules refused.
type refusal struct {
	addr string
	why  string
}

func (r *refusal) Error() string { return r.addr + " is " + r.why }

// dial connects to address, checking the address really dialled.
func (p *Proxy) dial(ctx context.Context, network, address string) (net.Conn, error) {
	timeout := p.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: timeout, Control: func(_, addr string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return &refusal{addr: addr, why: "not an address"}
		}
		if why := p.Why(ap); why != "" {
			return &refusal{addr: addr, why: why}
		}
		return nil
	}}
	return d.DialContext(ctx, network, address)
}

// Serve serves l until it is closed, then closes every connection it
// still holds and returns.
func (p *Proxy) Serve(l net.Listener) {
	p.mu.Lock()
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			break
		}
		if !p.track(c, true) {
			c.Close()
			break
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.track(c, false)
			defer c.Close()
			p.serveConn(c)
		}()
	}
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// track adds or removes a connection to close on shutdown; false once
// shut down.
func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return !add
	}
	if add {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) refused(method, target string, err error) {
	var r *refusal
	if p.Refused != nil && errors.As(err, &r) {
		p.Refused(fmt.Sprintf("[egress: refused %s %s: %s]", method, target, r.Error()))
	}
}

// serveConn answers requests on one client connection: CONNECT tunnels,
// and plain-HTTP requests with an absolute URL.
func (p *Proxy) serveConn(c net.Conn) {
	br := bufio.NewReader(c)
	direct := &http.Transport{DialContext: p.dial, ResponseHeaderTimeout: 5 * time.Minute, IdleConnTimeout: 30 * time.Second}
	defer direct.CloseIdleConnections()
	// The machine's own proxy is reached whatever its address: it is
	// the operator's way out, and it is what resolves the target.
	upstream := &http.Transport{Proxy: p.Upstream, ResponseHeaderTimeout: 5 * time.Minute, IdleConnTimeout: 30 * time.Second}
	defer upstream.CloseIdleConnections()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Method == http.MethodConnect {
			p.tunnel(c, br, req)
			return
		}
		if req.URL.Scheme != "http" || req.URL.Host == "" {
			reply(c, http.StatusBadRequest, "workspace-bot egress proxy: send an absolute http:// URL, or CONNECT for https")
			return
		}
		removeHopHeaders(req.Header)
		req.RequestURI = ""
		transport := direct
		if p.Upstream != nil {
			if u, _ := p.Upstream(req); u != nil {
				transport = upstream
			}
		}
		var resp *http.Response
		if transport == upstream {
			err = p.checkName(req.Context(), hostPort(req.URL))
		}
		if err == nil {
			resp, err = transport.RoundTrip(req)
		}
		if err != nil {
			p.refused(req.Method, req.URL.Host, err)
			reply(c, statusFor(err), "workspace-bot egress proxy: "+err.Error())
			return
		}
		removeHopHeaders(resp.Header)
		werr := resp.Write(c)
		resp.Body.Close()
		if werr != nil || req.Close || resp.Close {
			return
		}
	}
}

// tunnel connects the client to req.Host and copies both ways.
func (p *Proxy) tunnel(c net.Conn, br *bufio.Reader, req *http.Request) {
	target := req.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "443")
	}
	upstream, err := p.connect(req.Context(), target)
	if err != nil {
		p.refused("CONNECT", target, err)
		reply(c, statusFor(err), "workspace-bot egress proxy: "+err.Error())
		return
	}
	defer upstream.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		// What the client sent after its request is already buffered.
		io.Copy(upstream, br)
		if cw, ok := upstream.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, upstream)
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
}

// connect opens a tunnel to target: directly, or through the upstream
// proxy, which is trusted to be the machine's way out. A target named
// by a host that resolves here to a refused address is refused too.
func (p *Proxy) connect(ctx context.Context, target string) (net.Conn, error) {
	var via *url.URL
	if p.Upstream != nil {
		u, err := p.Upstream(&http.Request{URL: &url.URL{Scheme: "https", Host: target}})
		if err != nil {
			return nil, err
		}
		via = u
	}
	if via == nil {
		return p.dial(ctx, "tcp", target)
	}
	if err := p.checkName(ctx, target); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", via.Host)
	if err != nil {
		return nil, fmt.Errorf("upstream proxy %s: %w", via.Host, err)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != http.StatusOK {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("upstream proxy %s answered %s", via.Host, resp.Status)
		}
		return nil, err
	}
	// What the target sent first (a banner) may have come with the answer.
	return &bufferedConn{Conn: conn, r: br}, nil
}

// bufferedConn reads what a reader already holds before the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// checkName refuses a host:port whose host is, or resolves to, a refused
// address.
func (p *Proxy) checkName(ctx context.Context, target string) error {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return err
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // the upstream proxy resolves names this machine cannot
	}
	var pn uint16
	fmt.Sscan(port, &pn)
	for _, a := range addrs {
		if why := p.Why(netip.AddrPortFrom(a, pn)); why != "" {
			return &refusal{addr: target, why: why}
		}
	}
	return nil
}

// hostPort is u's host with its port, 80 when it has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

func statusFor(err error) int {
	var r *refusal
	if errors.As(err, &r) {
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}

func reply(c net.Conn, status int, msg string) {
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(msg)+1, msg+"\n")
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, f := range strings.Split(h.Get("Connection"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			h.Del(f)
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}
