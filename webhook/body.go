package webhook

import (
	"errors"
	"io"
	"sync/atomic"
)

// DefaultMaxInFlight bounds the bytes of request bodies held at once,
// across all requests, when Options.MaxInFlight is 0: a few dozen
// deliveries of GitHub's largest size, or thousands of ordinary ones.
const DefaultMaxInFlight = 64 << 20

// firstRead is the buffer a body starts in. Deliveries are mostly 10 to
// 30 KB, so one buffer holds most of them, and a client announcing 25 MiB
// gets no more than this until it sends the bytes.
const firstRead = 64 << 10

// errBusy says the bytes in flight would pass the service's bound.
var errBusy = errors.New("webhook: too many request bytes in flight")

// budget counts the bytes of request bodies held across all requests.
// Bodies are read before the signature can be checked, so whoever sends
// them is unauthenticated: what they cost must be bounded by what they
// send, and in total.
type budget struct {
	limit int64
	used  atomic.Int64
}

// take reserves n bytes, or reports false when that would pass the limit.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// readBody reads a request body into memory reserved from b as the bytes
// arrive, never by the length the client announces (net/http's
// ContentLength: -1 unknown, 0 none): an announced length only caps the
// last buffer, and so does max, past which r (an http.MaxBytesReader)
// fails. held is what the caller must give back to b once the body is no
// longer needed, errors included.
func readBody(r io.Reader, announced, max int64, b *budget) (body []byte, held int64, err error) {
	if announced == 0 {
		return []byte{}, 0, nil
	}
	size := min(firstRead, max+1)
	if announced > 0 {
		size = min(size, announced)
	}
	if !b.take(size) {
		return nil, 0, errBusy
	}
	held = size
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if announced > 0 && int64(len(buf)) >= announced {
				// net/http ends a body at its Content-Length.
				return buf, held, nil
			}
			next := min(2*int64(cap(buf)), max+1)
			if announced > 0 {
				next = min(next, announced)
			}
			// Both buffers are counted while the bytes are copied; the
			// old one is given back after.
			if !b.take(next) {
				return nil, held, errBusy
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			b.give(int64(cap(buf)))
			held += next - int64(cap(buf))
			buf = grown
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			return buf, held, nil
		}
		if rerr != nil {
			return nil, held, rerr
		}
	}
}
