package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sandesh/providers/smpp/smsctest"
)

// TestSMPPEndToEnd runs the gateway with an SMPP primary against the test
// SMSC: a booking's slip goes out as a submit_sm with the DLT TLVs, its
// delivery receipt marks it delivered, and a citizen's STATUS sent as an
// MO deliver_sm is answered through the SMSC. A web-only process takes no
// bind.
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
	call := func(method, path string, body any) map[string]any {
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
	call("POST", "/v1/centers", map[string]any{"id": "C1", "name": "PHC Aundh", "district": "Pune", "state": "Maharashtra", "pincode": "411007"})
	ben := call("POST", "/v1/beneficiaries", map[string]any{"name": "Asha Patil", "mobile": "9876543210", "birth_year": 1980, "gender": "F", "language": "en"})
	tomorrow := time.Now().In(kolkata(t)).AddDate(0, 0, 1).Format(time.DateOnly)
	call("POST", "/v1/appointments", map[string]any{"beneficiary_id": ben["id"], "center_id": "C1", "date": tomorrow, "slot": "09:00-11:00", "dose": 1})

	rec := s.WaitSubmits(t, 1, 10*time.Second)
	slip := rec.Submits[0]
	if slip.DestinationAddr != "919876543210" || !strings.Contains(slip.Text, "PHC Aundh") ||
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
	rec = s.WaitSubmits(t, 2, 10*time.Second)
	if reply := rec.Submits[1]; reply.DestinationAddr != "919876543210" || !strings.Contains(reply.Text, "Asha Patil") {
		t.Fatalf("reply to STATUS = %+v", reply)
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
