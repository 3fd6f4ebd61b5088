package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// kannelBinaries finds Debian's bearerbox and smsbox (package kannel) and
// fakesmsc (package kannel-extras, installed outside PATH).
func kannelBinaries() (bearerbox, smsbox, fakesmsc string, err error) {
	find := func(name string, dirs ...string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found (Debian: apt-get install kannel kannel-extras)", name)
	}
	if bearerbox, err = find("bearerbox", "/usr/sbin", "/usr/local/sbin"); err != nil {
		return
	}
	if smsbox, err = find("smsbox", "/usr/sbin", "/usr/local/sbin"); err != nil {
		return
	}
	fakesmsc, err = find("fakesmsc", "/usr/lib/kannel/test", "/usr/local/lib/kannel/test")
	return
}

// kannelConf is a durable Kannel: bearerbox keeps every message in its file
// store from smsbox's submit until the SMSC took it; one fake SMSC link to
// fakesmsc; smsbox answers sendsms only once bearerbox has stored the
// message (immediate-sendsms-reply is off by default). Logs at warning
// level, like the gateway's log_level: warn.
const kannelConf = `# Written by bench/baseline -mode kannel.
group = core
admin-port = %[2]d
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = %[3]d
box-allow-ip = "127.0.0.1"
log-file = "%[1]s/bearerbox.log"
log-level = 2
store-type = file
store-location = "%[1]s/store"

group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = %[4]d

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = %[3]d
sendsms-port = %[5]d
log-file = "%[1]s/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
user-allow-ip = "127.0.0.1"
`

// bareKannel sends n walk-in-dose-like SMS through Kannel's sendsms from
// concurrency clients, sendsms → smsbox → bearerbox with its file store →
// fake SMSC link → fakesmsc, and times from the first request to the n-th
// message read by fakesmsc.
func bareKannel(dir string, port, n, concurrency int) (any, error) {
	bearerbox, smsbox, fakesmsc, err := kannelBinaries()
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	admin, boxPort, smscPort, sendsmsPort := port, port+1, port+2, port+3
	for p := port; p < port+4; p++ { // another Kannel's page would pass for ours
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return nil, fmt.Errorf("kannel: port %d is taken (-port sets the first of four): %w", p, err)
		}
		ln.Close()
	}
	conf := filepath.Join(dir, "kannel.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, kannelConf, dir, admin, boxPort, smscPort, sendsmsPort), 0o644); err != nil {
		return nil, err
	}

	var procs []*exec.Cmd
	defer func() { stopAll(procs) }()
	start := func(name string, out io.Writer, args ...string) error {
		if out == nil {
			f, err := os.Create(filepath.Join(dir, filepath.Base(name)+".out"))
			if err != nil {
				return err
			}
			defer f.Close()
			out = f
		}
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = dir, out, out, childAttr()
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		return nil
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxIdleConns: concurrency}}
	defer client.CloseIdleConnections()
	status := func() (string, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/status.xml?password=bench", admin))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	waitFor := func(what string, ok func(string) bool) error {
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if s, err := status(); err == nil && ok(s) {
				return nil
			}
		}
		return fmt.Errorf("kannel: %s not ready in 15 s; see %s", what, dir)
	}

	if err := start(bearerbox, nil, "-v", "2", conf); err != nil {
		return nil, err
	}
	version := "unknown"
	if err := waitFor("bearerbox", func(s string) bool {
		if m := versionRe.FindStringSubmatch(s); m != nil {
			version = m[1]
		}
		return true
	}); err != nil {
		return nil, err
	}

	// fakesmsc logs "Got message N: <...>" for each MT it reads; -m 0: it
	// sends no MO of its own.
	pr, pw := io.Pipe()
	if err := start(fakesmsc, pw, "-H", "127.0.0.1", "-r", fmt.Sprint(smscPort), "-m", "0", "0 0 text nop"); err != nil {
		return nil, err
	}
	var got atomic.Int64
	var last atomic.Int64 // unix ns of the latest message at fakesmsc
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		marker := []byte("Got message ")
		for sc.Scan() {
			if bytes.Contains(sc.Bytes(), marker) {
				last.Store(time.Now().UnixNano())
				got.Add(1)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	defer pw.Close()
	online := regexp.MustCompile(`<status>online`)
	if err := waitFor("fake SMSC link", online.MatchString); err != nil {
		return nil, err
	}

	if err := start(smsbox, nil, "-v", "2", conf); err != nil {
		return nil, err
	}
	if err := waitFor("smsbox", func(s string) bool { return strings.Contains(s, "<type>smsbox</type>") }); err != nil {
		return nil, err
	}
	sendsms := fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/sendsms", sendsmsPort)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(sendsms)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("kannel: smsbox's sendsms port not open in 15 s; see %s", dir)
		}
	}

	var accepted, failed atomic.Int64
	var firstErr atomic.Value
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += concurrency {
				q := url.Values{"username": {"bench"}, "password": {"bench"}, "from": {"SANDSH"},
					"to": {fmt.Sprintf("+9198%08d", i)}, "text": {doseText(i)}}
				resp, err := client.Get(sendsms + "?" + q.Encode())
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 && bytes.HasPrefix(body, []byte("0: Accepted")) {
					accepted.Add(1)
				} else {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))))
				}
			}
		}()
	}
	wg.Wait()
	apiSecs := time.Since(begin).Seconds()
	want := accepted.Load()
	for seen, since := got.Load(), time.Now(); got.Load() < want; time.Sleep(2 * time.Millisecond) {
		if g := got.Load(); g != seen {
			seen, since = g, time.Now()
		} else if time.Since(since) > 30*time.Second {
			return nil, fmt.Errorf("kannel: %d of %d accepted SMS reached fakesmsc, none more in 30 s; see %s", g, want, dir)
		}
	}
	secs := time.Unix(0, last.Load()).Sub(begin).Seconds()
	out := map[string]any{"mode": "kannel", "messages": got.Load(), "accepted": want, "failed": failed.Load(),
		"seconds": secs, "rate_per_sec": float64(got.Load()) / secs, "api_seconds": apiSecs,
		"clients": concurrency, "store": "file", "version": version}
	if e := firstErr.Load(); e != nil {
		out["first_error"] = e
	}
	if want == 0 {
		return out, errors.New("kannel: no sendsms request was accepted")
	}
	return out, nil
}

// doseText is a walk-in dose confirmation of 120 characters, one GSM-7
// segment.
func doseText(i int) string {
	return fmt.Sprintf("Asha Patil-%06d: dose 1 of COVISHIELD recorded. Certificate ID %014d. Status: partial. This SMS confirms it.", i%1000000, 91000000000000+i%1000000)
}

var versionRe = regexp.MustCompile("bearerbox version `([^']+)'")

// stopAll stops Kannel's processes, latest started first, and waits for
// them: SIGTERM, then SIGKILL after 5 s.
func stopAll(procs []*exec.Cmd) {
	for i := len(procs) - 1; i >= 0; i-- {
		c := procs[i]
		c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		select {
		case <-done:
		case <-ctx.Done():
			c.Process.Kill()
			<-done
		}
		cancel()
	}
}
