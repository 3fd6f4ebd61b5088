package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// httpConns is the listener the HTTP server accepts on. It keeps every
// connection still open, so that a stop can close the ones fasthttp would
// wait for: fasthttp's graceful shutdown closes keep-alive connections idle
// between requests, but counts a connection on which no request has begun
// yet as busy (until ReadTimeout, 30 s), and never closes a connection whose
// request is still running, however long it takes.
type httpConns struct {
	net.Listener
	mu   sync.Mutex
	open map[*conn]struct{}
}

func trackConns(ln net.Listener) *httpConns {
	return &httpConns{Listener: ln, open: map[*conn]struct{}{}}
}

// conn is an accepted connection that knows whether a byte ever came in.
type conn struct {
	net.Conn
	l        *httpConns
	accepted time.Time
	used     atomic.Bool // a byte was read: a request has begun
	cut      atomic.Bool // closed by the stop, not by fasthttp
}

func (l *httpConns) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &conn{Conn: c, l: l, accepted: time.Now()}
	l.mu.Lock()
	l.open[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.used.Store(true)
	}
	if err != nil && c.cut.Load() {
		// To fasthttp, a connection the stop closed is one its client
		// closed: no error response to write, no "request failed" logged.
		err = io.EOF
	}
	return n, err
}

func (c *conn) Close() error {
	c.l.mu.Lock()
	delete(c.l.open, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// closeUnused closes the connections on which nothing came in during the
// first minAge after they were accepted: a client pool's spare connection,
// opened ahead of a request that may never come. The connections younger
// than minAge are spared, as net/http and fasthttp spare new connections,
// lest a request already on its way be cut. It returns how many it closed.
func (l *httpConns) closeUnused(minAge time.Duration) int {
	return l.closeWhere(func(c *conn) bool { return !c.used.Load() && time.Since(c.accepted) >= minAge })
}

// closeAll closes every connection still open and returns how many.
func (l *httpConns) closeAll() int {
	return l.closeWhere(func(*conn) bool { return true })
}

func (l *httpConns) closeWhere(match func(*conn) bool) int {
	var victims []*conn
	l.mu.Lock()
	for c := range l.open {
		if match(c) {
			victims = append(victims, c)
		}
	}
	l.mu.Unlock()
	for _, c := range victims {
		c.cut.Store(true)
		_ = c.Close()
	}
	return len(victims)
}
