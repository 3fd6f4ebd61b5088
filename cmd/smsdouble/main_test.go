package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the message on stderr
	}{
		{[]string{"-error-500", "1.5"}, "error_500"},
		{[]string{"-error-500", "0.6", "-timeout", "0.6"}, "more than 1"},
		{[]string{"-latency", "soon"}, "-latency"},
		{[]string{"-jitter", "-1s"}, "jitter"},
		{[]string{"-hang", "0s"}, "-hang"},
		{[]string{"-callbacks", "sent,read"}, `"read"`},
		{[]string{"-callback-workers", "0"}, "-callback-workers"},
		{[]string{"-account-sid", "AC-1"}, "letters and digits"},
		{[]string{"-nope"}, "-nope"},
		{[]string{"serve"}, "unexpected arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) || stdout.Len() != 0 {
				t.Errorf("stderr %q (want %q in it), stdout %q", stderr.String(), tc.want, stdout.String())
			}
		})
	}
}

// The command prints where it listens, serves the double there and stops
// on cancellation, also with a request hanging.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	var stderr bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"-listen", "127.0.0.1:0", "-timeout", "1", "-auth-token", "tok3n"}, w, &stderr)
		w.Close()
	}()

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no line on stdout: %v (stderr %q)", err, stderr.String())
	}
	m := regexp.MustCompile(`^smsdouble listening on (http://127\.0\.0\.1:\d+) account_sid=(AC[0-9a-f]{32})\n$`).FindStringSubmatch(line)
	if m == nil || strings.Contains(line, "tok3n") {
		t.Fatalf("first line %q", line)
	}
	go io.Copy(io.Discard, out)

	base, sid := m[1], m[2]
	if sid != defaultAccountSID {
		t.Errorf("account SID %q, want the default", sid)
	}
	resp, err := http.Get(base + "/control")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"timeout":1`) {
		t.Errorf("GET /control: %d %s", resp.StatusCode, b)
	}

	hung := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/2010-04-01/Accounts/"+sid+"/Messages.json",
			strings.NewReader("To=%2B919812345678&From=%2B15005550006&Body=hi"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(sid, "tok3n")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		hung <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the request arrive and hang
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5s after cancellation")
	}
	if err := <-hung; err == nil {
		t.Error("the hung request got an answer")
	}
}
