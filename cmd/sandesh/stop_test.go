package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"sandesh/providers/twilio/twiliotest"
)

// TestStopWithinTenSeconds stops a busy gateway as SIGINT and SIGTERM do
// (run's context is cancelled) while a client pool's keep-alive connections
// wait between requests, a spare connection of the pool never sent a
// request, a request is stuck half-sent, another is finished only after the
// stop began, and an SMS is in flight at a provider that never answers. The
// process must exit 0 within the 10 s a platform gives it, having answered
// the request finished during the grace, closed every connection, and put
// the unfinished send back in its queue without spending a retry.
func TestStopWithinTenSeconds(t *testing.T) {
	db := newTestRedis(t)
	twilio := twiliotest.NewServer(t)
	twilio.Respond(func(int, url.Values) *twiliotest.Failure { return &twiliotest.Failure{Hang: true} })
	port := freePort(t)
	path := filepath.Join(t.TempDir(), "sandesh.yaml")
	config := fmt.Sprintf(`
listen: 127.0.0.1:%[1]s
public_url: http://127.0.0.1:%[1]s
redis_url: %[2]s
secret: %[3]s
admin_key: %[4]s
log_level: info
providers:
  - name: primary
    kind: twilio
    account_sid: %[5]s
    auth_token: %[6]s
    from: "+15005550006"
    base_url: %[7]s
`, port, db.url, cliSecret, cliAdminKey, twilio.AccountSID, twilio.AuthToken, twilio.URL)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, nil, "--config", path)
	addr := p.addr(t)
	awaitReady(t, addr)

	// A booking's slip goes to the provider, which holds it.
	call := apiCaller(t, addr)
	bookAsha(t, call)
	for deadline := time.Now().Add(10 * time.Second); twilio.Calls() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the slip did not reach the provider within 10 s\n%s", p.output())
		}
	}

	// Connections the test reads after the stop. They are opened first:
	// the server accepts in order, so the answers on the connections opened
	// next show that it has accepted these (a connection still waiting to
	// be accepted when the listener closes is refused, as by any server).
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	spare := dial() // no request ever
	stuck := dial() // a body that never ends
	fmt.Fprintf(stuck, "POST /v1/centers HTTP/1.1\r\nHost: sandesh\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"id\":", cliAdminKey)
	late := dial() // headers finished only after the stop began
	fmt.Fprint(late, "GET /healthz HTTP/1.1\r\nHost: sandesh\r\n")

	// A client pool: concurrent requests leave keep-alive connections
	// waiting, and often a spare one dialled for a request another
	// connection served.
	pool := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 5 * time.Second}
	defer pool.CloseIdleConnections()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				resp, err := pool.Get("http://" + addr + "/readyz")
				if err != nil {
					t.Errorf("GET /readyz: %v", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	idle := dial() // keep-alive, waiting after its first request
	fmt.Fprint(idle, "GET /healthz HTTP/1.1\r\nHost: sandesh\r\n\r\n")
	idleReader := bufio.NewReader(idle)
	resp, err := http.ReadResponse(idleReader, nil)
	if err != nil {
		t.Fatalf("first request on the keep-alive connection: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first request on the keep-alive connection: %d, close %v", resp.StatusCode, resp.Close)
	}

	lateAnswer := make(chan string, 1)
	go func() {
		// The listener closes first thing in a stop.
		for !refused(addr) {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Fprint(late, "\r\n")
		late.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(late), nil)
		if err != nil {
			lateAnswer <- err.Error()
			return
		}
		resp.Body.Close()
		lateAnswer <- resp.Status
	}()

	start := time.Now()
	if code := p.stop(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0\n%s", code, p.output())
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))

	select {
	case got := <-lateAnswer:
		if got != "200 OK" {
			t.Errorf("the request finished during the stop got %q, want 200 OK", got)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("the request finished during the stop got no answer")
	}
	for _, c := range []struct {
		name string
		conn net.Conn
		r    io.Reader
	}{{"keep-alive", idle, idleReader}, {"spare", spare, spare}, {"stuck", stuck, stuck}} {
		c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		var ne net.Error
		if _, err := io.ReadAll(c.r); errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("the %s connection is still open after the process stopped", c.name)
		}
	}
	if !refused(addr) {
		t.Errorf("%s still accepts connections after the process stopped", addr)
	}
	if stderr := p.stderr.String(); !strings.Contains(stderr, "msg=stopped") || strings.Contains(stderr, "request failed") {
		t.Errorf("want a quiet stop (no \"request failed\") ending in \"stopped\":\n%s", stderr)
	}

	// The send the provider held went back to its queue, its retries intact.
	opt, err := asynq.ParseRedisURI(db.url)
	if err != nil {
		t.Fatal(err)
	}
	in := asynq.NewInspector(opt)
	defer in.Close()
	queues, err := in.Queues()
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, q := range queues {
		if active, err := in.ListActiveTasks(q); err != nil || len(active) > 0 {
			t.Errorf("queue %s: active tasks %d (%v) after the stop, want none", q, len(active), err)
		}
		tasks, err := in.ListPendingTasks(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			pending++
			if task.Retried != 0 {
				t.Errorf("task %s in %s was retried %d times, want 0: a stop spends no retry", task.ID, q, task.Retried)
			}
		}
	}
	if pending == 0 {
		t.Errorf("the send in flight is not back in its queue (queues %v)", queues)
	}
	if _, n := asynqQueues(t, db.url); n != 0 {
		t.Errorf("%d asynq servers still registered after the stop", n)
	}
}
