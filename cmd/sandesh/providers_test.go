package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sandesh/providers/africastalking/attest"
	"sandesh/providers/smpp/smsctest"
)

// TestSMPPEndToEnd runs the gateway with an SMPP primary against the test
// SMSC: a booking's slip goes out as a submit_sm with the DLT TLVs, its
// delivery receipt marks it delivered (after two throttled tries), a
// citizen's STATUS sent as an MO deliver_sm is answered through the SMSC,
// and slips booked while the SMSC is down reach it when it is back. A
// web-only process takes no bind.
func TestSMPPEndToEnd(t *testing.T) {
	db := newTestRedis(t)
	s := smsctest.Start(t, smsctest.Options{})
	port := freePort(t)
	path := filepath.Join(t.TempDir(), "sandesh.yaml")
	config := fmt.Sprintf(`
listen: 127.0.0.1:%s
redis_url: %s
secret: %s
admin_key: %s
providers:
  - name: operator
    kind: smpp
    addr: %s
    system_id: %s
    password: %s
    source_addr: CoWIN
    source_ton: 5
    binds: 2
    dlt_entity_id: "1201159100000012345"
    dlt_entity_tag: 0x1400
breaker:
  failures: 5
  open_for: 2s
`, port, db.url, cliSecret, cliAdminKey, s.Addr, s.SystemID, s.Password)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	web := startProcess(t, nil, "--config", path, "web")
	awaitReady(t, web.addr(t))
	if rec := s.Record(t); rec.Binds.Total != 0 {
		t.Fatalf("a web-only process bound %d times", rec.Binds.Total)
	}
	if code := web.stop(t, 5*time.Second); code != 0 {
		t.Fatalf("web exit %d", code)
	}

	p := startProcess(t, nil, "--config", path)
	addr := p.addr(t)
	awaitReady(t, addr)
	s.WaitBound(t, 2, 10*time.Second)
	call := apiCaller(t, addr)
	call("POST", "/v1/centers", map[string]any{"id": "C1", "name": "PHC Aundh", "district": "Pune", "state": "Maharashtra", "pincode": "411007"})
	tomorrow := time.Now().In(kolkata(t)).AddDate(0, 0, 1).Format(time.DateOnly)
	book := func(name, mobile string) {
		t.Helper()
		ben := call("POST", "/v1/beneficiaries", map[string]any{"name": name, "mobile": mobile, "birth_year": 1980, "gender": "F", "language": "en"})
		call("POST", "/v1/appointments", map[string]any{"beneficiary_id": ben["id"], "center_id": "C1", "date": tomorrow, "slot": "09:00-11:00", "dose": 1})
	}
	// The SMSC throttles the first two tries: the worker waits and tries again.
	s.Control(t, smsctest.Control{Throttle: smsctest.Int(2)})
	book("Asha Patil", "9876543210")
	rec := s.WaitSubmits(t, 3, 15*time.Second)
	if rec.Submits[0].Status != smsctest.StatusThrottled || rec.Submits[1].Status != smsctest.StatusThrottled {
		t.Fatalf("first tries answered %#x, %#x; want throttled", rec.Submits[0].Status, rec.Submits[1].Status)
	}
	slip := rec.Submits[2]
	if slip.Status != smsctest.StatusOK || slip.DestinationAddr != "919876543210" || !strings.Contains(slip.Text, "PHC Aundh") ||
		slip.TLVString(0x1400) != "1201159100000012345" || slip.TLVString(0x1401) == "" {
		t.Fatalf("slip submit = %+v", slip)
	}
	s.WaitReceiptsAcked(t, 1, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := call("GET", "/v1/support/messages?mobile=9876543210", nil)["messages"].([]any)
		m := msgs[0].(map[string]any)
		if m["status"] == "delivered" && m["provider"] == "operator" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slip is %v after its receipt\n%s", m, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}

	if code := s.SendMO(t, "+919876543210", "56161", "STATUS"); code != 200 {
		t.Fatalf("MO: %d", code)
	}
	rec = s.WaitSubmits(t, 4, 10*time.Second)
	if reply := rec.Submits[3]; reply.DestinationAddr != "919876543210" || !strings.Contains(reply.Text, "Asha Patil") {
		t.Fatalf("reply to STATUS = %+v", reply)
	}

	// The SMSC goes away while slips are being booked and comes back:
	// every slip reaches it once it is up again.
	s.Stop()
	for i := range 5 {
		book(fmt.Sprintf("Person %c", 'A'+i), fmt.Sprintf("98765000%02d", 10+i))
	}
	s.Restart(t)
	rec = s.WaitSubmits(t, 5, 30*time.Second)
	got := map[string]bool{}
	for _, sub := range rec.Submits {
		if sub.Status == smsctest.StatusOK {
			got[sub.DestinationAddr] = true
		}
	}
	if len(got) != 5 {
		t.Fatalf("after the restart the SMSC took slips to %v, want 5 mobiles", got)
	}
	if code := p.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
	if rec := s.Record(t); rec.Binds.Current != 0 {
		t.Fatalf("%d binds left after shutdown", rec.Binds.Current)
	}
}

func kolkata(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestAfricasTalkingEndToEnd runs the gateway with an Africa's Talking
// provider against its double: a slip is sent through AT's messaging API
// and AT's delivery report, posted with the webhook token, marks it
// delivered; a report without the token is refused.
func TestAfricasTalkingEndToEnd(t *testing.T) {
	db := newTestRedis(t)
	at := attest.NewServer(t)
	port := freePort(t)
	const token = "at-callback-token-0123456789"
	path := filepath.Join(t.TempDir(), "sandesh.yaml")
	config := fmt.Sprintf(`
listen: 127.0.0.1:%s
redis_url: %s
secret: %s
admin_key: %s
providers:
  - name: africa
    kind: africastalking
    username: %s
    api_key: ${AT_API_KEY}
    from: CoWIN
    base_url: %s
    webhook_token: %s
`, port, db.url, cliSecret, cliAdminKey, at.Username, at.URL, token)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, map[string]string{"AT_API_KEY": at.APIKey}, "--config", path)
	addr := p.addr(t)
	awaitReady(t, addr)
	call := apiCaller(t, addr)
	bookAsha(t, call)
	at.WaitCount(t, 1, 10*time.Second)
	sent := at.Messages()[0]
	if sent.To != "+919876543210" || sent.From != "CoWIN" || !strings.Contains(sent.Message, "PHC Aundh") {
		t.Fatalf("AT got %+v", sent)
	}
	hook := "http://" + addr + "/webhooks/africastalking/africa/status"
	if resp, err := at.PostReport(context.Background(), hook, sent.MessageID, "Success", ""); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("report without the token: %v %v", resp, err)
	}
	// The worker may still be recording AT's id: the report waits for it.
	if resp, err := at.PostReport(context.Background(), hook+"?token="+token, sent.MessageID, "Success", ""); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("report: %v %v", resp, err)
	}
	msgs := call("GET", "/v1/support/messages?mobile=9876543210", nil)["messages"].([]any)
	if m := msgs[0].(map[string]any); m["status"] != "delivered" || m["provider"] != "africa" {
		t.Fatalf("slip after AT's report: %v", m)
	}
	if resp, err := at.PostReport(context.Background(), "http://"+addr+"/webhooks/africastalking/nosuch/status", sent.MessageID, "Success", ""); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("report to an unknown provider: %v %v", resp, err)
	}
	if code := p.stop(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.output())
	}
}

// apiCaller calls the gateway's API at addr with the admin key and fails
// the test on any answer but 2xx.
// bookAsha books Asha Patil (9876543210) at a new centre C1 for
// tomorrow, so that her appointment slip goes out.
func bookAsha(t *testing.T, call func(method, path string, body any) map[string]any) {
	t.Helper()
	call("POST", "/v1/centers", map[string]any{"id": "C1", "name": "PHC Aundh", "district": "Pune", "state": "Maharashtra", "pincode": "411007"})
	ben := call("POST", "/v1/beneficiaries", map[string]any{"name": "Asha Patil", "mobile": "9876543210", "birth_year": 1980, "gender": "F", "language": "en"})
	tomorrow := time.Now().In(kolkata(t)).AddDate(0, 0, 1).Format(time.DateOnly)
	call("POST", "/v1/appointments", map[string]any{"beneficiary_id": ben["id"], "center_id": "C1", "date": tomorrow, "slot": "09:00-11:00", "dose": 1})
}

func apiCaller(t *testing.T, addr string) func(method, path string, body any) map[string]any {
	return func(method, path string, body any) map[string]any {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+cliAdminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
}
