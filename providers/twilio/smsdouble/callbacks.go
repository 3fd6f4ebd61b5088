package smsdouble

import (
	"context"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Callbacks is the set of status callbacks posted for each accepted
// message that has a StatusCallback URL, always in Twilio's order.
type Callbacks uint8

const (
	PostQueued    Callbacks = 1 << iota // "queued"
	PostSent                            // "sent"
	PostDelivered                       // "delivered", or "undelivered" with ErrorCode 30003 for the Faults.Undelivered share

	// DefaultCallbacks is what Twilio posts for an SMS that went out.
	DefaultCallbacks = PostSent | PostDelivered
)

// callbackNames are the statuses of Callbacks, in the order they are posted.
var callbackNames = []struct {
	c    Callbacks
	name string
}{{PostQueued, "queued"}, {PostSent, "sent"}, {PostDelivered, "delivered"}}

// ParseCallbacks reads a comma list of queued, sent and delivered, or
// "none".
func ParseCallbacks(s string) (Callbacks, error) {
	if s == "none" {
		return 0, nil
	}
	var c Callbacks
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		var bit Callbacks
		for _, n := range callbackNames {
			if n.name == name {
				bit = n.c
			}
		}
		if bit == 0 {
			return 0, fmt.Errorf("callback status %q is none of queued, sent, delivered (or the whole list \"none\")", name)
		}
		c |= bit
	}
	return c, nil
}

// String is the comma list ParseCallbacks reads.
func (c Callbacks) String() string {
	var names []string
	for _, n := range callbackNames {
		if c&n.c != 0 {
			names = append(names, n.name)
		}
	}
	if names == nil {
		return "none"
	}
	return strings.Join(names, ",")
}

// Defaults of the callback senders.
const (
	DefaultCallbackWorkers = 32
	DefaultCallbackQueue   = 100_000
	callbackTimeout        = 10 * time.Second
	undeliveredCode        = "30003" // Twilio: unreachable destination handset
)

// callback is one accepted message whose statuses wait to be posted.
type callback struct {
	m           Message // without Body: callbacks do not carry it
	undelivered bool
}

// poster posts status callbacks from a fixed pool of goroutines fed by a
// bounded queue. A full queue drops callbacks; failed posts are counted
// and not retried.
type poster struct {
	account, authToken string
	statuses           Callbacks
	queue              chan callback
	client             *http.Client
	ctx                context.Context
	stop               context.CancelFunc
	wg                 sync.WaitGroup

	posted, failed, dropped atomic.Int64
}

func newPoster(account, authToken string, statuses Callbacks, workers, queue int) *poster {
	ctx, stop := context.WithCancel(context.Background())
	p := &poster{
		account:   account,
		authToken: authToken,
		statuses:  statuses,
		queue:     make(chan callback, queue),
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, IdleConnTimeout: 90 * time.Second},
			Timeout:   callbackTimeout,
		},
		ctx:  ctx,
		stop: stop,
	}
	if statuses == 0 {
		return p // nothing will be queued
	}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// enqueue queues m's callbacks, or counts them dropped when the queue is
// full.
func (p *poster) enqueue(m Message, undelivered bool) {
	if p.statuses == 0 || m.StatusCallback == "" {
		return
	}
	m.Body = ""
	select {
	case p.queue <- callback{m: m, undelivered: undelivered}:
	default:
		p.dropped.Add(int64(bits.OnesCount8(uint8(p.statuses))))
	}
}

func (p *poster) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case cb := <-p.queue:
			for _, n := range callbackNames {
				if p.statuses&n.c == 0 {
					continue
				}
				status, code := n.name, ""
				if n.c == PostDelivered && cb.undelivered {
					status, code = "undelivered", undeliveredCode
				}
				if p.post(cb.m, status, code) {
					p.posted.Add(1)
				} else {
					p.failed.Add(1)
				}
			}
		}
	}
}

// post sends one signed callback and reports whether it was answered 2xx.
func (p *poster) post(m Message, status, errorCode string) bool {
	req, err := SignedRequest(p.ctx, p.authToken, m.StatusCallback, StatusParams(p.account, m, status, errorCode))
	if err != nil {
		return false
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

func (p *poster) counts() CallbackCounts {
	return CallbackCounts{Posted: p.posted.Load(), Failed: p.failed.Load(), Dropped: p.dropped.Load()}
}

func (p *poster) reset() {
	p.posted.Store(0)
	p.failed.Store(0)
	p.dropped.Store(0)
}

// close stops the senders, abandoning queued callbacks and cancelling
// posts in flight, and waits for them.
func (p *poster) close() {
	p.stop()
	p.wg.Wait()
	p.client.CloseIdleConnections()
}
