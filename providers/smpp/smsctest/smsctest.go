// Package smsctest runs a test SMSC (an SMPP v3.4 server) for tests of the
// SMPP provider.
//
// The SMSC is not written in Go: it is smsc/smsc.js, a small Node.js program
// built on the npm package smpp (pinned to 0.5.1), so that the provider is
// tested against an independent SMPP implementation. Install it once with
//
//	npm ci --prefix providers/smpp/smsctest/smsc
//
// Start launches `node smsc.js` for one test and stops it in t.Cleanup. The
// SMSC records every submit_sm, sends delivery receipts, injects faults
// (throttling, error statuses, delays, receipt outcomes), sends MO messages
// and drops connections on request, through a JSON control API on a second
// (HTTP) port that this package wraps.
//
// The methods that take a testing.TB call t.Fatal on failure, so call them
// from the test's goroutine only.
package smsctest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// InstallHint is how to install the test SMSC; it is part of the skip and
// failure messages of Start.
const InstallHint = "npm ci --prefix providers/smpp/smsctest/smsc"

// RequireEnv is the environment variable that turns a missing node or a
// missing npm install from a skip into a test failure when set to "1".
const RequireEnv = "SANDESH_REQUIRE_SMSC"

// Default credentials used when Options leaves them empty.
const (
	DefaultSystemID = "sandesh"
	DefaultPassword = "secret"
)

// SMPP command_status values the SMSC uses or that tests commonly inject.
const (
	StatusOK            uint32 = 0x00
	StatusInvMsgLen     uint32 = 0x01
	StatusInvBindStatus uint32 = 0x04 // ESME_RINVBNDSTS
	StatusAlreadyBound  uint32 = 0x05 // ESME_RALYBND
	StatusSysErr        uint32 = 0x08 // ESME_RSYSERR
	StatusInvDstAddr    uint32 = 0x0B // ESME_RINVDSTADR
	StatusBindFail      uint32 = 0x0D // ESME_RBINDFAIL
	StatusMsgQFull      uint32 = 0x14 // ESME_RMSGQFUL
	StatusSubmitFail    uint32 = 0x45 // ESME_RSUBMITFAIL
	StatusThrottled     uint32 = 0x58 // ESME_RTHROTTLED
)

// Receipt outcomes for Control.Receipt.
const (
	ReceiptDelivered   = "DELIVRD"
	ReceiptUndelivered = "UNDELIV"
	ReceiptExpired     = "EXPIRED"
	ReceiptRejected    = "REJECTD"
	ReceiptNone        = "none"
)

const (
	readyTimeout   = 20 * time.Second
	stopTimeout    = 5 * time.Second
	restartRetry   = 5 * time.Second
	pollInterval   = 20 * time.Millisecond
	logTailOnFail  = 50
	logKeepLines   = 2000
	exitAddrInUse  = 3 // smsc.js exit code when a port is in use
	requestTimeout = 15 * time.Second
)

// Options configures Start.
type Options struct {
	SystemID string // accepted system_id; DefaultSystemID if empty
	Password string // accepted password; DefaultPassword if empty
	SMPPPort int    // SMPP port on 127.0.0.1; 0 picks a free one
}

// Server is a running test SMSC.
type Server struct {
	Addr     string // host:port of the SMPP listener (stays the same across Restart)
	SystemID string
	Password string

	dir    string
	logs   *logBuffer
	client *http.Client

	mu       sync.Mutex
	proc     *process
	httpAddr string
	port     int
}

// Record is what GET /record returns.
type Record struct {
	Submits  []Submit  `json:"submits"`
	Binds    Binds     `json:"binds"`
	Receipts Counts    `json:"receipts"`
	MO       Counts    `json:"mo"`
	Sessions []Session `json:"sessions"` // currently bound sessions
	Faults   Faults    `json:"faults"`   // fault settings in force
}

// Binds counts binds. Total and Failed are counters (cleared by Reset);
// Current is the number of sessions bound now.
type Binds struct {
	Total   int `json:"total"`
	Current int `json:"current"`
	Failed  int `json:"failed"`
}

// Counts counts deliver_sm PDUs sent by the SMSC (receipts or MO, retries
// included) and those acknowledged with an OK deliver_sm_resp.
type Counts struct {
	Sent  int `json:"sent"`
	Acked int `json:"acked"`
}

// Session is a bound SMPP session.
type Session struct {
	ID       int    `json:"id"`
	Bind     string `json:"bind"` // "transceiver", "transmitter" or "receiver"
	SystemID string `json:"system_id"`
}

// Faults are the fault settings in force.
type Faults struct {
	Pending        []PendingFault `json:"pending"` // queued status faults, applied in order
	DelayMS        int            `json:"delay_ms"`
	Receipt        string         `json:"receipt"`
	ReceiptErr     string         `json:"receipt_err"` // "" when not set
	ReceiptDelayMS int            `json:"receipt_delay_ms"`
}

// PendingFault is a status that the next Count submits will be answered with.
type PendingFault struct {
	Status uint32 `json:"status"`
	Count  int    `json:"count"`
}

// Submit is one recorded submit_sm, as received from a bound transmitter or
// transceiver (submits refused for the bind state are not recorded).
type Submit struct {
	ID                   string `json:"id"`     // message_id answered; "" when Status != 0
	Status               uint32 `json:"status"` // command_status answered
	Session              int    `json:"session"`
	SystemID             string `json:"system_id"`
	ServiceType          string `json:"service_type"`
	SourceAddr           string `json:"source_addr"`
	SourceAddrTON        int    `json:"source_addr_ton"`
	SourceAddrNPI        int    `json:"source_addr_npi"`
	DestinationAddr      string `json:"destination_addr"`
	DestAddrTON          int    `json:"dest_addr_ton"`
	DestAddrNPI          int    `json:"dest_addr_npi"`
	ESMClass             int    `json:"esm_class"`
	ProtocolID           int    `json:"protocol_id"`
	PriorityFlag         int    `json:"priority_flag"`
	ScheduleDeliveryTime string `json:"schedule_delivery_time"`
	ValidityPeriod       string `json:"validity_period"`
	RegisteredDelivery   int    `json:"registered_delivery"`
	ReplaceIfPresentFlag int    `json:"replace_if_present_flag"`
	DataCoding           int    `json:"data_coding"`
	SMDefaultMsgID       int    `json:"sm_default_msg_id"`
	// ShortMessageHex is the raw short_message, UDH included, in hex.
	ShortMessageHex string `json:"short_message_hex"`
	// UDH is the concatenation IE (0x00 or 0x08) when esm_class has UDHI.
	UDH *UDH `json:"udh,omitempty"`
	// Text is the message without the UDH, decoded by data_coding (8:
	// UCS-2/UTF-16BE, 0: GSM 03.38 unpacked with the extension table, else
	// Latin-1). It comes from message_payload when short_message is empty.
	Text string `json:"text"`
	// TLVs maps every optional parameter, as a 4-digit lowercase hex tag
	// ("1400", "001e"), to its value in hex. Unknown tags are kept.
	TLVs map[string]string `json:"tlvs"`
	At   time.Time         `json:"at"`
}

// UDH is a parsed concatenation information element.
type UDH struct {
	Ref   int `json:"ref"`
	Total int `json:"total"`
	Seq   int `json:"seq"`
}

// ShortMessage returns the raw short_message bytes.
func (s Submit) ShortMessage() []byte {
	b, _ := hex.DecodeString(s.ShortMessageHex)
	return b
}

// TLV returns the value of an optional parameter and whether it was present.
func (s Submit) TLV(tag uint16) ([]byte, bool) {
	v, ok := s.TLVs[fmt.Sprintf("%04x", tag)]
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(v)
	return b, err == nil
}

// TLVString returns the value of an optional parameter as text, without a
// trailing NUL (DLT entity and template ids are sent either way); "" when
// absent.
func (s Submit) TLVString(tag uint16) string {
	b, _ := s.TLV(tag)
	return strings.TrimRight(string(b), "\x00")
}

// Control sets faults. Only the fields set are sent; throttle and error
// faults queue up and apply, in order, to the next submit_sm PDUs.
type Control struct {
	Throttle       *int        `json:"throttle,omitempty"`         // answer the next n submits with 0x58
	Error          *ErrorFault `json:"error,omitempty"`            // answer the next Count submits with Status
	DelayMS        *int        `json:"delay_ms,omitempty"`         // delay every submit_sm_resp
	Receipt        string      `json:"receipt,omitempty"`          // Receipt* outcome of later submits
	ReceiptErr     string      `json:"receipt_err,omitempty"`      // 3-digit err: of later receipts
	ReceiptDelayMS *int        `json:"receipt_delay_ms,omitempty"` // delay between submit_sm_resp and receipt
	ClearFaults    bool        `json:"clear_faults,omitempty"`     // drop queued throttle/error faults
}

// ErrorFault answers the next Count submits with command_status Status.
type ErrorFault struct {
	Status uint32 `json:"status"`
	Count  int    `json:"count"`
}

// Int returns a pointer to v, for Control fields.
func Int(v int) *int { return &v }

// Start starts a test SMSC for t and stops it in t.Cleanup. It skips t
// (fails it when SANDESH_REQUIRE_SMSC=1) when node or the npm install of the
// SMSC is missing.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir, err := smscDir()
	if err == nil {
		err = checkInstalled(dir)
	}
	if err != nil {
		msg := fmt.Sprintf("smsctest: %v; install the test SMSC with `%s` (needs Node.js and npm)", err, InstallHint)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if o.SystemID == "" {
		o.SystemID = DefaultSystemID
	}
	if o.Password == "" {
		o.Password = DefaultPassword
	}
	s := &Server{
		SystemID: o.SystemID,
		Password: o.Password,
		dir:      dir,
		logs:     &logBuffer{},
		client: &http.Client{
			Timeout:   requestTimeout,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
		},
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("smsctest: last %d lines of the SMSC's stderr:\n%s", logTailOnFail, s.logs.tail(logTailOnFail))
		}
	})
	if err := s.launch(o.SMPPPort); err != nil {
		t.Fatalf("smsctest: starting the SMSC: %v", err)
	}
	// Addr is set once here; Restart keeps the port, so it never changes.
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	return s
}

// Stop stops the SMSC (SIGTERM, then kill after 5 s) and waits for it to
// exit. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
	if tr, ok := s.client.Transport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}

// Restart stops the SMSC and starts it again on the same SMPP port (Addr
// does not change; the control API gets a new port). Records, counters and
// faults start empty, and connected clients see their connections closed.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.mu.Lock()
	port := s.port
	s.mu.Unlock()
	deadline := time.Now().Add(restartRetry)
	for {
		err := s.launch(port)
		if err == nil {
			s.mu.Lock()
			got := s.port
			s.mu.Unlock()
			if got != port {
				t.Fatalf("smsctest: restarted SMSC listens on port %d, want %d", got, port)
			}
			return
		}
		if errors.Is(err, errAddrInUse) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		t.Fatalf("smsctest: restarting the SMSC on port %d: %v", port, err)
	}
}

// HTTPAddr returns host:port of the control API.
func (s *Server) HTTPAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpAddr
}

// Logs returns the SMSC's recent stderr output.
func (s *Server) Logs() string { return s.logs.tail(logKeepLines) }

// Record returns everything the SMSC recorded.
func (s *Server) Record(t testing.TB) Record {
	t.Helper()
	var r Record
	if code, body := s.do(t, http.MethodGet, "/record", nil); code != http.StatusOK {
		t.Fatalf("smsctest: GET /record: HTTP %d: %s", code, body)
	} else if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("smsctest: GET /record: %v", err)
	}
	return r
}

// Control sets faults; see Control.
func (s *Server) Control(t testing.TB, c Control) {
	t.Helper()
	if code, body := s.do(t, http.MethodPost, "/control", c); code != http.StatusOK {
		t.Fatalf("smsctest: POST /control: HTTP %d: %s", code, body)
	}
}

// Reset clears records, counters, faults and queued receipts.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	if code, body := s.do(t, http.MethodPost, "/reset", nil); code != http.StatusOK {
		t.Fatalf("smsctest: POST /reset: HTTP %d: %s", code, body)
	}
}

// Drop closes every SMPP connection abruptly (no unbind); the SMSC keeps
// listening.
func (s *Server) Drop(t testing.TB) {
	t.Helper()
	if code, body := s.do(t, http.MethodPost, "/drop", nil); code != http.StatusOK {
		t.Fatalf("smsctest: POST /drop: HTTP %d: %s", code, body)
	}
}

// SendMO sends a mobile-originated deliver_sm to a bound receiver or
// transceiver and returns the HTTP status: 200 when the client answered with
// an OK deliver_sm_resp, 409 when nothing is bound to receive it, 502 when
// the client answered with an error status, 504 after 5 s without an answer.
// A from address starting with "+" is sent without it, with TON 1 / NPI 1.
func (s *Server) SendMO(t testing.TB, from, to, text string) int {
	t.Helper()
	code, _ := s.do(t, http.MethodPost, "/mo", map[string]string{"from": from, "to": to, "text": text})
	return code
}

// WaitSubmits polls the record until it holds at least n submits (refused
// ones included) and returns it; it fails t after timeout.
func (s *Server) WaitSubmits(t testing.TB, n int, timeout time.Duration) Record {
	t.Helper()
	return s.waitFor(t, timeout, fmt.Sprintf("%d submits", n), func(r Record) bool { return len(r.Submits) >= n })
}

// WaitReceiptsAcked polls the record until at least n receipts were
// acknowledged with an OK deliver_sm_resp; it fails t after timeout.
func (s *Server) WaitReceiptsAcked(t testing.TB, n int, timeout time.Duration) Record {
	t.Helper()
	return s.waitFor(t, timeout, fmt.Sprintf("%d acknowledged receipts", n), func(r Record) bool { return r.Receipts.Acked >= n })
}

// WaitBound polls the record until at least n sessions are bound; it fails t
// after timeout.
func (s *Server) WaitBound(t testing.TB, n int, timeout time.Duration) Record {
	t.Helper()
	return s.waitFor(t, timeout, fmt.Sprintf("%d bound sessions", n), func(r Record) bool { return r.Binds.Current >= n })
}

func (s *Server) waitFor(t testing.TB, timeout time.Duration, what string, ok func(Record) bool) Record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := s.Record(t)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("smsctest: no %s after %v: %d submits, binds %+v, receipts %+v, mo %+v",
				what, timeout, len(r.Submits), r.Binds, r.Receipts, r.MO)
		}
		time.Sleep(pollInterval)
	}
}

func (s *Server) do(t testing.TB, method, path string, in any) (int, []byte) {
	t.Helper()
	addr := s.HTTPAddr()
	if addr == "" {
		t.Fatalf("smsctest: %s %s: the SMSC is not running", method, path)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("smsctest: %s %s: %v", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		t.Fatalf("smsctest: %s %s: %v", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("smsctest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("smsctest: %s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// --- process management ---

var errAddrInUse = errors.New("port in use")

type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser // kept open (and referenced) while node runs
	done  chan struct{}  // closed when the process has exited
	err   error          // cmd.Wait's result, set before done is closed
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type readyLine struct {
	SMPP int `json:"smpp"`
	HTTP int `json:"http"`
}

// launch starts node and waits for the ready line.
func (s *Server) launch(smppPort int) error {
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node not found on PATH: %w", err)
	}
	cmd := exec.Command(node, "smsc.js",
		"--smpp-port", strconv.Itoa(smppPort),
		"--http-port", "0",
		"--system-id", s.SystemID,
		"--password", s.Password,
		"--host", "127.0.0.1",
		"--watch-stdin", // exit with the test binary even if it is killed
	)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	ready := make(chan string, 1)
	cmd.Stdout = &firstLineWriter{ch: ready, rest: s.logs}
	cmd.Stderr = s.logs
	cmd.WaitDelay = 2 * time.Second
	// The pipe stays open while the process runs; when this test binary
	// exits, node sees EOF on stdin and exits too.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting node: %w", err)
	}
	p := &process{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-ready:
	case <-p.done:
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitAddrInUse {
			return fmt.Errorf("smsc.js exited: SMPP port %d: %w", smppPort, errAddrInUse)
		}
		return fmt.Errorf("smsc.js exited before it was ready (%v); stderr:\n%s", p.err, s.logs.tail(logTailOnFail))
	case <-timer.C:
		p.stop()
		return fmt.Errorf("smsc.js not ready after %v; stderr:\n%s", readyTimeout, s.logs.tail(logTailOnFail))
	}
	var rl readyLine
	if err := json.Unmarshal([]byte(line), &rl); err != nil || rl.SMPP == 0 || rl.HTTP == 0 {
		p.stop()
		return fmt.Errorf("smsc.js printed %q instead of the ready line", line)
	}
	s.mu.Lock()
	s.proc = p
	s.port = rl.SMPP
	s.httpAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(rl.HTTP))
	s.mu.Unlock()
	return nil
}

func smscDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the smsctest source folder")
	}
	return filepath.Join(filepath.Dir(file), "smsc"), nil
}

func checkInstalled(dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "smsc.js")); err != nil {
		return fmt.Errorf("%s is missing", filepath.Join(dir, "smsc.js"))
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "smpp", "package.json")); err != nil {
		return fmt.Errorf("%s is missing", filepath.Join(dir, "node_modules", "smpp"))
	}
	return nil
}

// firstLineWriter hands the first line written to it to ch and passes
// everything after it to rest.
type firstLineWriter struct {
	ch   chan string
	rest io.Writer
	buf  []byte
	sent bool
}

func (w *firstLineWriter) Write(p []byte) (int, error) {
	if w.sent {
		return w.rest.Write(p)
	}
	w.buf = append(w.buf, p...)
	i := bytes.IndexByte(w.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	w.sent = true
	w.ch <- strings.TrimSpace(string(w.buf[:i]))
	if rest := w.buf[i+1:]; len(rest) > 0 {
		_, _ = w.rest.Write(rest)
	}
	w.buf = nil
	return len(p), nil
}

// logBuffer keeps the last lines written to it.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, string(b.partial[:i]))
		b.partial = b.partial[i+1:]
	}
	if over := len(b.lines) - logKeepLines; over > 0 {
		b.lines = append([]string(nil), b.lines[over:]...)
	}
	return len(p), nil
}

func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	if len(b.partial) > 0 {
		lines = append(append([]string(nil), lines...), string(b.partial))
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString("  ")
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}
