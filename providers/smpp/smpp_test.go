package smpp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/providers"
	"sandesh/providers/smpp/smsctest"
	"sandesh/templates"
)

// collector keeps what the provider hands back from the SMSC.
type collector struct {
	mu       sync.Mutex
	receipts []DeliveryReceipt
	mos      []MO
	refuse   int // receipts to refuse before taking them
}

func (c *collector) receipt(r DeliveryReceipt) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse > 0 {
		c.refuse--
		return errors.New("store down")
	}
	c.receipts = append(c.receipts, r)
	return nil
}

func (c *collector) mo(m MO) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mos = append(c.mos, m)
	return nil
}

// receiptFor waits for the receipt of the SMSC's message id.
func (c *collector) receiptFor(t *testing.T, id string) DeliveryReceipt {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		for _, r := range c.receipts {
			if r.ProviderMessageID == id {
				c.mu.Unlock()
				return r
			}
		}
		c.mu.Unlock()
	}
	t.Fatalf("no receipt for %s", id)
	return DeliveryReceipt{}
}

func start(t *testing.T, s *smsctest.Server, c *collector, mutate ...func(*Config)) *Provider {
	t.Helper()
	cfg := Config{
		Name: "operator", Addr: s.Addr, SystemID: s.SystemID, Password: s.Password,
		SourceAddr: "CoWIN", SourceTON: 5, Binds: 2, Window: 10, SubmitTimeout: 3 * time.Second,
		DLTEntityID: "1201159100000012345", OnReceipt: c.receipt, OnMO: c.mo,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	p.Start()
	waitBound(t, p, cfg.Binds)
	return p
}

func waitBound(t *testing.T, p *Provider, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p.Bound() == n {
			return
		}
	}
	t.Fatalf("%d binds up, want %d", p.Bound(), n)
}

func outbound(body string) providers.Outbound {
	c := templates.CountText(body)
	return providers.Outbound{MessageID: "m1", To: "+919876543210", Body: body, Encoding: c.Encoding,
		Segments: c.Segments, DLTTemplateID: "1107162101000482101"}
}

// A short GSM-7 message goes out as one submit_sm with the DLT TLVs, the
// international destination and a receipt request; its receipt comes back.
func TestSendShort(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	c := &collector{}
	p := start(t, s, c)
	got, err := p.Send(context.Background(), outbound("Your security code is 4821. Tell it to the vaccinator."))
	if err != nil {
		t.Fatal(err)
	}
	rec := s.WaitSubmits(t, 1, 5*time.Second)
	sub := rec.Submits[0]
	if got.Provider != "operator" || got.ProviderMessageID != sub.ID || sub.ID == "" {
		t.Fatalf("receipt %+v, SMSC gave %q", got, sub.ID)
	}
	for _, check := range []struct {
		what      string
		got, want any
	}{
		{"text", sub.Text, "Your security code is 4821. Tell it to the vaccinator."},
		{"data_coding", sub.DataCoding, 0},
		{"destination", sub.DestinationAddr, "919876543210"},
		{"destination TON", sub.DestAddrTON, 1},
		{"destination NPI", sub.DestAddrNPI, 1},
		{"source", sub.SourceAddr, "CoWIN"},
		{"source TON", sub.SourceAddrTON, 5},
		{"registered_delivery", sub.RegisteredDelivery, 1},
		{"esm_class", sub.ESMClass, 0},
		{"DLT entity TLV", sub.TLVString(0x1400), "1201159100000012345"},
		{"DLT template TLV", sub.TLVString(0x1401), "1107162101000482101"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.what, check.got, check.want)
		}
	}
	r := c.receiptFor(t, sub.ID)
	if r.Status != providers.DeliveryDelivered || r.Provider != "operator" || r.ErrorCode != "" {
		t.Fatalf("receipt = %+v", r)
	}
}

// A long message goes out in the parts the templates counted, each with a
// concatenation UDH of one reference, in GSM-7 or UCS-2.
func TestSendLong(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	p := start(t, s, &collector{})
	for _, tc := range []struct {
		name       string
		body       string
		dataCoding int
	}{
		{"GSM-7, 2 parts", strings.Repeat("Vaccination booked at PHC Aundh. ", 6), 0},
		{"UCS-2, 3 parts", strings.Repeat("आपका टीकाकरण केंद्र पीएचसी औंध में बुक है। ", 4), 8},
		{"GSM-7, 160 characters: one SMS", strings.Repeat("a", 160), 0},
		{"GSM-7, 161 characters: two", strings.Repeat("a", 161), 0},
		{"GSM-7 escape pair at the cut", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), 0},
		{"GSM-7 extension characters", strings.Repeat("[€]", 30), 0},
		{"UCS-2 surrogate pairs", strings.Repeat("😀", 40), 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Reset(t)
			m := outbound(tc.body)
			got, err := p.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			rec := s.WaitSubmits(t, m.Segments, 5*time.Second)
			if len(rec.Submits) != m.Segments {
				t.Fatalf("%d parts, the templates counted %d", len(rec.Submits), m.Segments)
			}
			var text strings.Builder
			for i, sub := range rec.Submits {
				// GSM-7 goes unpacked, an octet a septet; UCS-2 two octets a unit.
				limit := map[int]int{0: 153, 8: 134}[tc.dataCoding]
				if m.Segments == 1 {
					limit = map[int]int{0: 160, 8: 140}[tc.dataCoding]
					if sub.UDH != nil || sub.ESMClass&0x40 != 0 {
						t.Fatalf("a one-part message carries a UDH")
					}
					if len(sub.ShortMessage()) > limit {
						t.Fatalf("%d octets in one SMS", len(sub.ShortMessage()))
					}
					text.WriteString(sub.Text)
					continue
				}
				if sub.UDH == nil || sub.UDH.Total != m.Segments || sub.UDH.Seq != i+1 || sub.UDH.Ref != rec.Submits[0].UDH.Ref {
					t.Fatalf("part %d UDH = %+v", i+1, sub.UDH)
				}
				if n := len(sub.ShortMessage()) - 6; n > limit {
					t.Fatalf("part %d carries %d octets after its UDH, over %d", i+1, n, limit)
				}
				if sub.DataCoding != tc.dataCoding || sub.ESMClass&0x40 == 0 {
					t.Fatalf("part %d: data_coding %d, esm_class %#x", i+1, sub.DataCoding, sub.ESMClass)
				}
				if want := map[bool]int{true: 1, false: 0}[i == 0]; sub.RegisteredDelivery != want {
					t.Fatalf("part %d asks for receipt %d, want %d (only the first part's id is kept)", i+1, sub.RegisteredDelivery, want)
				}
				text.WriteString(sub.Text)
			}
			if text.String() != tc.body {
				t.Fatalf("parts read %q, want %q", text.String(), tc.body)
			}
			if got.ProviderMessageID != rec.Submits[0].ID {
				t.Fatalf("message id %q, want the first part's %q", got.ProviderMessageID, rec.Submits[0].ID)
			}
		})
	}
}

// submit_sm_resp errors: throttling, a full queue and system errors may
// pass later or elsewhere; an invalid destination never will.
func TestSubmitErrors(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	p := start(t, s, &collector{}, func(c *Config) { c.Binds = 1 })
	for _, tc := range []struct {
		name      string
		status    uint32
		temporary bool
		code      string
	}{
		{"throttled", smsctest.StatusThrottled, true, "rate_limited"},
		{"queue full", smsctest.StatusMsgQFull, true, "smpp_14"},
		{"system error", smsctest.StatusSysErr, true, "smpp_8"},
		{"invalid destination", smsctest.StatusInvDstAddr, false, "smpp_b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Control(t, smsctest.Control{Error: &smsctest.ErrorFault{Status: tc.status, Count: 1}})
			_, err := p.Send(context.Background(), outbound("Hello"))
			if err == nil || providers.Temporary(err) != tc.temporary || providers.Ambiguous(err) || providers.Code(err) != tc.code {
				t.Fatalf("err = %v (temporary %v, code %q); want temporary %v, code %q",
					err, providers.Temporary(err), providers.Code(err), tc.temporary, tc.code)
			}
			if tc.status == smsctest.StatusThrottled && providers.RetryAfter(err) != time.Second {
				t.Errorf("throttled: retry after %s", providers.RetryAfter(err))
			}
			if _, err := p.Send(context.Background(), outbound("Hello")); err != nil {
				t.Fatalf("the next submit: %v", err)
			}
		})
	}
}

// A later part of a long message that the SMSC throttles is sent again
// on its own, not the whole message; a later part it refuses fails the
// message rather than sending the first part again and again.
func TestLaterParts(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	p := start(t, s, &collector{}, func(c *Config) { c.Binds = 1 })
	long := outbound(strings.Repeat("Vaccination booked at PHC Aundh. ", 6))
	s.Control(t, smsctest.Control{Error: &smsctest.ErrorFault{Status: smsctest.StatusOK, Count: 1}})
	s.Control(t, smsctest.Control{Throttle: smsctest.Int(2)})
	if _, err := p.Send(context.Background(), long); err != nil {
		t.Fatalf("a throttled second part: %v", err)
	}
	rec := s.WaitSubmits(t, 4, 5*time.Second)
	var statuses []uint32
	for _, sub := range rec.Submits {
		statuses = append(statuses, sub.Status)
	}
	if len(rec.Submits) != 4 || statuses[0] != 0 || statuses[1] != smsctest.StatusThrottled || statuses[2] != smsctest.StatusThrottled ||
		statuses[3] != 0 || rec.Submits[3].UDH.Seq != 2 {
		t.Fatalf("submits %v: want part 1, part 2 throttled twice, part 2 taken", statuses)
	}

	s.Reset(t)
	s.Control(t, smsctest.Control{Error: &smsctest.ErrorFault{Status: smsctest.StatusOK, Count: 1}})
	s.Control(t, smsctest.Control{Error: &smsctest.ErrorFault{Status: smsctest.StatusInvMsgLen, Count: 1}})
	_, err := p.Send(context.Background(), long)
	if err == nil || providers.Temporary(err) {
		t.Fatalf("a refused second part: %v; want a permanent error", err)
	}
	if rec := s.Record(t); len(rec.Submits) != 2 {
		t.Fatalf("%d submits; the refused part must not be sent again", len(rec.Submits))
	}
}

// Receipts of failures carry the network's words; a receipt the gateway
// could not store is refused and the SMSC delivers it again.
func TestReceipts(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	c := &collector{}
	p := start(t, s, c, func(c *Config) { c.Binds = 1 })
	s.Control(t, smsctest.Control{Receipt: smsctest.ReceiptUndelivered, ReceiptErr: "001"})
	got, err := p.Send(context.Background(), outbound("Hello"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.receiptFor(t, got.ProviderMessageID)
	if r.Status != providers.DeliveryUndelivered || r.Stat != "UNDELIV" || r.ErrorCode != "smpp_undeliv_001" {
		t.Fatalf("receipt = %+v", r)
	}
	s.Control(t, smsctest.Control{Receipt: smsctest.ReceiptDelivered})
	c.mu.Lock()
	c.refuse = 1
	c.mu.Unlock()
	got, err = p.Send(context.Background(), outbound("Hello again"))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.receiptFor(t, got.ProviderMessageID); r.Status != providers.DeliveryDelivered {
		t.Fatalf("receipt after a refusal = %+v", r)
	}
	if rec := s.Record(t); rec.Receipts.Sent < 3 {
		t.Fatalf("SMSC sent %d receipts; the refused one was not delivered again", rec.Receipts.Sent)
	}
}

// A citizen's SMS reaches the MO callback with an E.164 sender, in GSM-7
// and in UCS-2.
func TestMO(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	c := &collector{}
	start(t, s, c, func(c *Config) { c.Binds = 1 })
	for _, text := range []string{"STATUS", "स्थिति"} {
		if code := s.SendMO(t, "+919876543210", "56161", text); code != 200 {
			t.Fatalf("MO %q: %d", text, code)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mos) != 2 || c.mos[0] != (MO{Provider: "operator", From: "+919876543210", To: "56161", Text: "STATUS"}) || c.mos[1].Text != "स्थिति" {
		t.Fatalf("MO = %+v", c.mos)
	}
}

// A lost connection or an SMSC restart is a temporary error while the
// binds are down, and the binds come back by themselves.
func TestRebind(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	p := start(t, s, &collector{})
	s.Drop(t)
	// Both binds again at the SMSC (2 binds before the drop, 2 after),
	// and both up here.
	for deadline := time.Now().Add(10 * time.Second); s.Record(t).Binds.Total < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("binds after the drop: %+v", s.Record(t).Binds)
		}
	}
	waitBound(t, p, 2)
	if _, err := p.Send(context.Background(), outbound("after a drop")); err != nil {
		t.Fatalf("after a drop: %v", err)
	}
	s.Stop()
	waitBound(t, p, 0)
	_, err := p.Send(context.Background(), outbound("while down"))
	if !providers.Temporary(err) || providers.Ambiguous(err) || providers.Code(err) != "not_bound" {
		t.Fatalf("while the SMSC is down: %v; want a temporary not_bound error the router fails over on", err)
	}
	s.Restart(t)
	waitBound(t, p, 2)
	if _, err := p.Send(context.Background(), outbound("after a restart")); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	if rec := s.WaitSubmits(t, 1, 5*time.Second); rec.Submits[0].Text != "after a restart" {
		t.Fatalf("submits after the restart: %+v", rec.Submits)
	}
}

// A provider started while its SMSC is down binds once it is up.
func TestStartWhileDown(t *testing.T) {
	s := smsctest.Start(t, smsctest.Options{})
	s.Stop()
	p, err := New(Config{Name: "operator", Addr: s.Addr, SystemID: s.SystemID, Password: s.Password, SourceAddr: "CoWIN"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	p.Start()
	if _, err := p.Send(context.Background(), outbound("early")); !providers.Temporary(err) {
		t.Fatalf("before any bind: %v", err)
	}
	s.Restart(t)
	waitBound(t, p, 1)
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{Addr: "h:1", SystemID: "s", SourceAddr: "x"}, "name"},
		{"no port", Config{Name: "o", Addr: "h", SystemID: "s", SourceAddr: "x"}, "addr"},
		{"no system id", Config{Name: "o", Addr: "h:1", SourceAddr: "x"}, "system_id"},
		{"no source", Config{Name: "o", Addr: "h:1", SystemID: "s"}, "source_addr"},
		{"too many binds", Config{Name: "o", Addr: "h:1", SystemID: "s", SourceAddr: "x", Binds: 33}, "binds"},
		{"window", Config{Name: "o", Addr: "h:1", SystemID: "s", SourceAddr: "x", Window: 256}, "window"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", tc.name, err, tc.want)
		}
	}
	p, err := New(Config{Name: "o", Addr: "h:1", SystemID: "s", SourceAddr: "x"})
	if err != nil || p.cfg.Binds != DefaultBinds || p.cfg.Window != DefaultWindow || p.cfg.DLTTemplateTag != DefaultDLTTemplateTag {
		t.Fatalf("defaults: %+v, %v", p.cfg, err)
	}
	if err := p.Close(); err != nil || p.Close() != nil {
		t.Fatalf("close of a provider never started: %v", err)
	}
}
