package smsctest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// --- a minimal raw SMPP v3.4 client, for these tests only ---

const (
	cmdGenericNack     uint32 = 0x80000000
	cmdBindReceiver    uint32 = 0x00000001
	cmdBindTransmitter uint32 = 0x00000002
	cmdSubmitSM        uint32 = 0x00000004
	cmdSubmitSMResp    uint32 = 0x80000004
	cmdDeliverSM       uint32 = 0x00000005
	cmdDeliverSMResp   uint32 = 0x80000005
	cmdUnbind          uint32 = 0x00000006
	cmdUnbindResp      uint32 = 0x80000006
	cmdBindTransceiver uint32 = 0x00000009
	cmdEnquireLink     uint32 = 0x00000015
	cmdEnquireLinkResp uint32 = 0x80000015

	tagReceiptedMessageID uint16 = 0x001E
	tagMessageState       uint16 = 0x0427

	ioTimeout = 5 * time.Second
)

type pdu struct {
	id, status, seq uint32
	body            []byte
}

type client struct {
	t       *testing.T
	conn    net.Conn
	seq     uint32
	pending []pdu // PDUs read while waiting for something else
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn}
}

func (c *client) write(p pdu) {
	c.t.Helper()
	b := make([]byte, 16, 16+len(p.body))
	binary.BigEndian.PutUint32(b[0:], uint32(16+len(p.body)))
	binary.BigEndian.PutUint32(b[4:], p.id)
	binary.BigEndian.PutUint32(b[8:], p.status)
	binary.BigEndian.PutUint32(b[12:], p.seq)
	b = append(b, p.body...)
	_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write PDU 0x%08x: %v", p.id, err)
	}
}

// readRaw reads one PDU from the wire.
func (c *client) readRaw(timeout time.Duration) (pdu, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var h [16]byte
	if _, err := io.ReadFull(c.conn, h[:]); err != nil {
		return pdu{}, err
	}
	n := binary.BigEndian.Uint32(h[0:])
	if n < 16 || n > 1<<16 {
		return pdu{}, fmt.Errorf("bad command_length %d", n)
	}
	p := pdu{id: binary.BigEndian.Uint32(h[4:]), status: binary.BigEndian.Uint32(h[8:]), seq: binary.BigEndian.Uint32(h[12:])}
	p.body = make([]byte, n-16)
	if _, err := io.ReadFull(c.conn, p.body); err != nil {
		return pdu{}, err
	}
	return p, nil
}

// request sends a request PDU and returns its response, keeping any other
// PDU that arrives meanwhile.
func (c *client) request(id uint32, body []byte) pdu {
	c.t.Helper()
	c.seq++
	seq := c.seq
	c.write(pdu{id: id, seq: seq, body: body})
	deadline := time.Now().Add(ioTimeout)
	for {
		p, err := c.readRaw(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for the response to 0x%08x: %v", id, err)
		}
		if p.seq == seq && (p.id == id|0x80000000 || p.id == cmdGenericNack) {
			return p
		}
		c.pending = append(c.pending, p)
	}
}

// next returns the next PDU with the given command id (from those already
// read, else from the wire).
func (c *client) next(id uint32, timeout time.Duration) pdu {
	c.t.Helper()
	for i, p := range c.pending {
		if p.id == id {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return p
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		p, err := c.readRaw(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for PDU 0x%08x: %v", id, err)
		}
		if p.id == id {
			return p
		}
		c.pending = append(c.pending, p)
	}
}

// deliver waits for a deliver_sm, acknowledges it with status and returns it
// decoded.
func (c *client) deliver(status uint32) deliverSM {
	c.t.Helper()
	p := c.next(cmdDeliverSM, ioTimeout)
	c.write(pdu{id: cmdDeliverSMResp, status: status, seq: p.seq, body: []byte{0}})
	d, err := parseDeliverSM(p.body)
	if err != nil {
		c.t.Fatalf("parsing deliver_sm: %v", err)
	}
	return d
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func bindBody(systemID, password string) []byte {
	var b []byte
	b = append(b, cstr(systemID)...)
	b = append(b, cstr(password)...)
	b = append(b, cstr("")...) // system_type
	b = append(b, 0x34, 0, 0)  // interface_version, addr_ton, addr_npi
	b = append(b, cstr("")...) // address_range
	return b
}

func (c *client) bind(cmd uint32, systemID, password string) uint32 {
	c.t.Helper()
	return c.request(cmd, bindBody(systemID, password)).status
}

type tlv struct {
	tag   uint16
	value []byte
}

type submitReq struct {
	src, dst           string
	esmClass           byte
	registeredDelivery byte
	dataCoding         byte
	shortMessage       []byte
	tlvs               []tlv
}

func (r submitReq) body() []byte {
	if r.src == "" {
		r.src = "SANDSH"
	}
	if r.dst == "" {
		r.dst = "919876543210"
	}
	var b []byte
	b = append(b, cstr("")...) // service_type
	b = append(b, 5, 0)        // source TON alphanumeric, NPI unknown
	b = append(b, cstr(r.src)...)
	b = append(b, 1, 1) // dest TON international, NPI ISDN
	b = append(b, cstr(r.dst)...)
	b = append(b, r.esmClass, 0, 0) // esm_class, protocol_id, priority_flag
	b = append(b, cstr("")...)      // schedule_delivery_time
	b = append(b, cstr("")...)      // validity_period
	b = append(b, r.registeredDelivery, 0, r.dataCoding, 0, byte(len(r.shortMessage)))
	b = append(b, r.shortMessage...)
	for _, t := range r.tlvs {
		b = binary.BigEndian.AppendUint16(b, t.tag)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.value)))
		b = append(b, t.value...)
	}
	return b
}

// submit sends a submit_sm and returns the command_status and message_id.
func (c *client) submit(r submitReq) (uint32, string) {
	c.t.Helper()
	p := c.request(cmdSubmitSM, r.body())
	if p.id != cmdSubmitSMResp {
		c.t.Fatalf("submit_sm answered with 0x%08x", p.id)
	}
	id := string(bytes.TrimRight(p.body, "\x00"))
	return p.status, id
}

type deliverSM struct {
	sourceAddr, destinationAddr string
	sourceTON                   byte
	esmClass, dataCoding        byte
	shortMessage                []byte
	tlvs                        map[uint16][]byte
}

func parseDeliverSM(b []byte) (deliverSM, error) {
	var d deliverSM
	off := 0
	errShort := errors.New("deliver_sm too short")
	u8 := func() (byte, error) {
		if off >= len(b) {
			return 0, errShort
		}
		off++
		return b[off-1], nil
	}
	cs := func() (string, error) {
		i := bytes.IndexByte(b[off:], 0)
		if i < 0 {
			return "", errShort
		}
		s := string(b[off : off+i])
		off += i + 1
		return s, nil
	}
	var err error
	fields := []func() error{
		func() error { _, err = cs(); return err },                 // service_type
		func() error { d.sourceTON, err = u8(); return err },       // source_addr_ton
		func() error { _, err = u8(); return err },                 // source_addr_npi
		func() error { d.sourceAddr, err = cs(); return err },      // source_addr
		func() error { _, err = u8(); return err },                 // dest_addr_ton
		func() error { _, err = u8(); return err },                 // dest_addr_npi
		func() error { d.destinationAddr, err = cs(); return err }, // destination_addr
		func() error { d.esmClass, err = u8(); return err },        // esm_class
		func() error { _, err = u8(); return err },                 // protocol_id
		func() error { _, err = u8(); return err },                 // priority_flag
		func() error { _, err = cs(); return err },                 // schedule_delivery_time
		func() error { _, err = cs(); return err },                 // validity_period
		func() error { _, err = u8(); return err },                 // registered_delivery
		func() error { _, err = u8(); return err },                 // replace_if_present_flag
		func() error { d.dataCoding, err = u8(); return err },      // data_coding
		func() error { _, err = u8(); return err },                 // sm_default_msg_id
	}
	for _, f := range fields {
		if err := f(); err != nil {
			return d, err
		}
	}
	n, err := u8()
	if err != nil || off+int(n) > len(b) {
		return d, errShort
	}
	d.shortMessage = b[off : off+int(n)]
	off += int(n)
	d.tlvs = map[uint16][]byte{}
	for off+4 <= len(b) {
		tag := binary.BigEndian.Uint16(b[off:])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		if off+4+l > len(b) {
			return d, errors.New("TLV longer than deliver_sm")
		}
		d.tlvs[tag] = b[off+4 : off+4+l]
		off += 4 + l
	}
	return d, nil
}

func ucs2(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, u)
	}
	return b
}

func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// start starts an SMSC for one test. Without Node and the SMSC's npm
// install it skips, as every user of Start does, so that `go test ./...`
// passes on a machine with only Go; .ci/run installs both and sets
// SANDESH_REQUIRE_SMSC=1, so there a missing install fails.
func start(t *testing.T) *Server {
	t.Helper()
	return Start(t, Options{SystemID: "sandesh", Password: "s3cret"})
}

func bound(t *testing.T, s *Server) *client {
	t.Helper()
	c := dial(t, s.Addr)
	if st := c.bind(cmdBindTransceiver, s.SystemID, s.Password); st != StatusOK {
		t.Fatalf("bind_transceiver: status 0x%02x", st)
	}
	return c
}

// --- tests ---

func TestBind(t *testing.T) {
	s := start(t)

	c := dial(t, s.Addr)
	if st := c.bind(cmdBindTransceiver, s.SystemID, s.Password); st != StatusOK {
		t.Fatalf("bind with the right password: status 0x%02x, want 0", st)
	}
	if p := c.request(cmdEnquireLink, nil); p.id != cmdEnquireLinkResp || p.status != 0 {
		t.Fatalf("enquire_link: got 0x%08x status 0x%x", p.id, p.status)
	}

	bad := dial(t, s.Addr)
	if st := bad.bind(cmdBindTransceiver, s.SystemID, "wrong"); st != StatusBindFail {
		t.Fatalf("bind with a wrong password: status 0x%02x, want 0x0D", st)
	}
	if _, err := bad.readRaw(ioTimeout); err == nil {
		t.Fatal("the SMSC kept the connection open after a failed bind")
	}

	rx := dial(t, s.Addr)
	if st := rx.bind(cmdBindReceiver, s.SystemID, s.Password); st != StatusOK {
		t.Fatalf("bind_receiver: status 0x%02x", st)
	}
	if st, _ := rx.submit(submitReq{shortMessage: []byte("Hi")}); st != StatusInvBindStatus {
		t.Fatalf("submit_sm on a receiver bind: status 0x%02x, want 0x04", st)
	}

	r := s.Record(t)
	if r.Binds.Total != 2 || r.Binds.Current != 2 || r.Binds.Failed != 1 {
		t.Fatalf("binds = %+v, want total 2, current 2, failed 1", r.Binds)
	}
	kinds := map[string]bool{}
	for _, ss := range r.Sessions {
		kinds[ss.Bind] = true
	}
	if !kinds["transceiver"] || !kinds["receiver"] {
		t.Fatalf("sessions = %+v, want a transceiver and a receiver", r.Sessions)
	}

	if p := c.request(cmdUnbind, nil); p.id != cmdUnbindResp || p.status != 0 {
		t.Fatalf("unbind: got 0x%08x status 0x%x", p.id, p.status)
	}
	if _, err := c.readRaw(ioTimeout); err == nil {
		t.Fatal("the SMSC kept the connection open after unbind")
	}
	s.WaitBound(t, 1, ioTimeout)
	if r := s.Record(t); r.Binds.Current != 1 {
		t.Fatalf("after unbind: binds = %+v, want current 1", r.Binds)
	}
}

func TestSubmitGSMWithReceipt(t *testing.T) {
	s := start(t)
	c := bound(t, s)

	st, id := c.submit(submitReq{registeredDelivery: 1, dataCoding: 0, shortMessage: []byte("Hello")})
	if st != StatusOK || id == "" {
		t.Fatalf("submit_sm_resp: status 0x%02x id %q, want 0 and an id", st, id)
	}

	r := s.WaitSubmits(t, 1, ioTimeout)
	got := r.Submits[0]
	if got.ID != id || got.Text != "Hello" || got.DataCoding != 0 || got.RegisteredDelivery != 1 ||
		got.DestinationAddr != "919876543210" || got.DestAddrTON != 1 || got.SourceAddr != "SANDSH" ||
		got.SourceAddrTON != 5 || got.ShortMessageHex != hex.EncodeToString([]byte("Hello")) || got.UDH != nil {
		t.Fatalf("recorded submit = %+v", got)
	}
	if got.At.IsZero() || got.Session == 0 || got.SystemID != s.SystemID {
		t.Fatalf("recorded submit lacks at/session/system_id: %+v", got)
	}

	d := c.deliver(StatusOK)
	text := string(d.shortMessage)
	if d.esmClass != 0x04 || !strings.Contains(text, "stat:DELIVRD") || !strings.Contains(text, "err:000") ||
		!strings.HasPrefix(text, "id:"+id+" ") || !strings.HasSuffix(text, "text:Hello") {
		t.Fatalf("receipt: esm_class 0x%02x, text %q", d.esmClass, text)
	}
	if d.sourceAddr != "919876543210" || d.destinationAddr != "SANDSH" {
		t.Fatalf("receipt addresses: from %q to %q", d.sourceAddr, d.destinationAddr)
	}
	if rid := string(bytes.TrimRight(d.tlvs[tagReceiptedMessageID], "\x00")); rid != id {
		t.Fatalf("receipted_message_id = %q, want %q", rid, id)
	}
	if ms := d.tlvs[tagMessageState]; len(ms) != 1 || ms[0] != 2 {
		t.Fatalf("message_state = %v, want [2]", ms)
	}
	if r := s.WaitReceiptsAcked(t, 1, ioTimeout); r.Receipts.Sent != 1 {
		t.Fatalf("receipts = %+v, want sent 1", r.Receipts)
	}

	// Message ids differ; without registered_delivery there is no receipt.
	_, id2 := c.submit(submitReq{shortMessage: []byte("again")})
	if id2 == "" || id2 == id {
		t.Fatalf("second message id %q (first %q)", id2, id)
	}
}

func TestSubmitGSMExtensionTable(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	// "a€[] {x}@£" in the GSM default alphabet with escapes.
	sm := []byte{'a', 0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, ' ', 0x1B, 0x28, 'x', 0x1B, 0x29, 0x00, 0x01}
	if st, _ := c.submit(submitReq{shortMessage: sm}); st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	if got := s.WaitSubmits(t, 1, ioTimeout).Submits[0].Text; got != "a€[] {x}@£" {
		t.Fatalf("text = %q, want %q", got, "a€[] {x}@£")
	}
}

func TestSubmitUCS2(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	const text = "नमस्ते"
	if st, _ := c.submit(submitReq{dataCoding: 8, shortMessage: ucs2(text)}); st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	got := s.WaitSubmits(t, 1, ioTimeout).Submits[0]
	if got.Text != text || got.DataCoding != 8 {
		t.Fatalf("recorded text %q data_coding %d, want %q and 8", got.Text, got.DataCoding, text)
	}
}

func TestSubmitUDH(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	sm := append([]byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}, "Part one"...)
	if st, _ := c.submit(submitReq{esmClass: 0x40, shortMessage: sm}); st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	// A 16-bit reference (IE 0x08) in UCS-2.
	sm16 := append([]byte{0x06, 0x08, 0x04, 0x01, 0x02, 0x03, 0x03}, ucs2("तीन")...)
	if st, _ := c.submit(submitReq{esmClass: 0x40, dataCoding: 8, shortMessage: sm16}); st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	r := s.WaitSubmits(t, 2, ioTimeout)
	got := r.Submits[0]
	if got.UDH == nil || *got.UDH != (UDH{Ref: 42, Total: 2, Seq: 1}) {
		t.Fatalf("udh = %+v, want {42 2 1}", got.UDH)
	}
	if got.Text != "Part one" || got.ESMClass != 0x40 || !bytes.Equal(got.ShortMessage(), sm) {
		t.Fatalf("recorded %+v", got)
	}
	got = r.Submits[1]
	if got.UDH == nil || *got.UDH != (UDH{Ref: 0x0102, Total: 3, Seq: 3}) || got.Text != "तीन" {
		t.Fatalf("16-bit UDH submit recorded as udh %+v text %q", got.UDH, got.Text)
	}
}

func TestSubmitUnknownTLVs(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	const peID, tmplID = "1201159100000012345", "1207161234567890123"
	st, _ := c.submit(submitReq{
		shortMessage: []byte("OTP 1234"),
		tlvs: []tlv{
			{0x1400, []byte(peID)},
			{0x1401, append([]byte(tmplID), 0)}, // some clients send a C-string
			{0x020C, []byte{0x00, 0x07}},        // sar_msg_ref_num, a known tag
		},
	})
	if st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	got := s.WaitSubmits(t, 1, ioTimeout).Submits[0]
	if got.TLVs["1400"] != hex.EncodeToString([]byte(peID)) {
		t.Fatalf("tlvs[1400] = %q, want hex of %q; tlvs %v", got.TLVs["1400"], peID, got.TLVs)
	}
	if got.TLVString(0x1400) != peID || got.TLVString(0x1401) != tmplID || got.TLVs["020c"] != "0007" {
		t.Fatalf("tlvs = %v", got.TLVs)
	}
	if got.Text != "OTP 1234" {
		t.Fatalf("text = %q", got.Text)
	}
}

func TestThrottleAndErrorFaults(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	s.Control(t, Control{Throttle: Int(2)})
	s.Control(t, Control{Error: &ErrorFault{Status: StatusMsgQFull, Count: 1}})
	want := []uint32{StatusThrottled, StatusThrottled, StatusMsgQFull, StatusOK}
	for i, w := range want {
		st, id := c.submit(submitReq{shortMessage: []byte(fmt.Sprintf("m%d", i))})
		if st != w {
			t.Fatalf("submit %d: status 0x%02x, want 0x%02x", i, st, w)
		}
		if (w == StatusOK) != (id != "") {
			t.Fatalf("submit %d: status 0x%02x with message id %q", i, st, id)
		}
	}
	r := s.Record(t)
	if len(r.Submits) != 4 || r.Submits[0].Status != StatusThrottled || r.Submits[3].Status != StatusOK || r.Submits[3].ID == "" {
		t.Fatalf("recorded submits = %+v", r.Submits)
	}
	if len(r.Faults.Pending) != 0 {
		t.Fatalf("pending faults = %+v, want none", r.Faults.Pending)
	}

	// delay_ms holds every submit_sm_resp back.
	const delay = 150 * time.Millisecond
	s.Control(t, Control{DelayMS: Int(int(delay / time.Millisecond))})
	begin := time.Now()
	if st, _ := c.submit(submitReq{shortMessage: []byte("slow")}); st != StatusOK {
		t.Fatalf("delayed submit: status 0x%02x", st)
	}
	if took := time.Since(begin); took < delay {
		t.Fatalf("submit_sm_resp after %v, want >= %v", took, delay)
	}
	s.Control(t, Control{DelayMS: Int(0)})
	if r := s.Record(t); r.Faults.DelayMS != 0 {
		t.Fatalf("delay_ms = %d after turning it off", r.Faults.DelayMS)
	}

	// Unknown control fields are refused.
	resp, err := http.Post("http://"+s.HTTPAddr()+"/control", "application/json", strings.NewReader(`{"bogus":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST /control with an unknown field: HTTP %d, want 400", resp.StatusCode)
	}

	s.Reset(t)
	if r := s.Record(t); len(r.Submits) != 0 || r.Binds.Current != 1 || r.Binds.Total != 0 {
		t.Fatalf("after reset: %d submits, binds %+v", len(r.Submits), r.Binds)
	}
}

func TestReceiptUndelivered(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	s.Control(t, Control{Receipt: ReceiptUndelivered, ReceiptDelayMS: Int(0)})
	st, id := c.submit(submitReq{registeredDelivery: 1, shortMessage: []byte("Will fail")})
	if st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	d := c.deliver(StatusOK)
	text := string(d.shortMessage)
	if !strings.Contains(text, "id:"+id+" ") || !strings.Contains(text, "stat:UNDELIV") || !strings.Contains(text, "err:001") {
		t.Fatalf("receipt text %q", text)
	}
	if ms := d.tlvs[tagMessageState]; len(ms) != 1 || ms[0] != 5 {
		t.Fatalf("message_state = %v, want [5]", ms)
	}
	s.WaitReceiptsAcked(t, 1, ioTimeout)

	// "none": no receipt for that submit; the next receipt is the later one's.
	s.Control(t, Control{Receipt: ReceiptNone})
	if st, _ := c.submit(submitReq{registeredDelivery: 1, shortMessage: []byte("silent")}); st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	s.Control(t, Control{Receipt: ReceiptExpired, ReceiptErr: "069"})
	_, id = c.submit(submitReq{registeredDelivery: 1, shortMessage: []byte("expires")})
	d = c.deliver(StatusOK)
	text = string(d.shortMessage)
	if !strings.Contains(text, "id:"+id+" ") || !strings.Contains(text, "stat:EXPIRED") || !strings.Contains(text, "err:069") {
		t.Fatalf("receipt text %q", text)
	}
	if ms := d.tlvs[tagMessageState]; len(ms) != 1 || ms[0] != 3 {
		t.Fatalf("message_state = %v, want [3]", ms)
	}
	if r := s.WaitReceiptsAcked(t, 2, ioTimeout); r.Receipts.Sent != 2 {
		t.Fatalf("receipts = %+v, want sent 2", r.Receipts)
	}
}

func TestReceiptRetriedAndQueued(t *testing.T) {
	s := start(t)
	s.Control(t, Control{ReceiptDelayMS: Int(0)})

	// Submitted on a transmitter: the receipt waits for a receiver.
	tx := dial(t, s.Addr)
	if st := tx.bind(cmdBindTransmitter, s.SystemID, s.Password); st != StatusOK {
		t.Fatalf("bind_transmitter: status 0x%02x", st)
	}
	_, id := tx.submit(submitReq{registeredDelivery: 1, shortMessage: []byte("queued")})
	if id == "" {
		t.Fatal("no message id")
	}
	rx := dial(t, s.Addr)
	if st := rx.bind(cmdBindReceiver, s.SystemID, s.Password); st != StatusOK {
		t.Fatalf("bind_receiver: status 0x%02x", st)
	}
	// Refuse the first attempt; the SMSC retries.
	first := rx.deliver(StatusSysErr)
	second := rx.deliver(StatusOK)
	for _, d := range []deliverSM{first, second} {
		if rid := string(bytes.TrimRight(d.tlvs[tagReceiptedMessageID], "\x00")); rid != id {
			t.Fatalf("receipted_message_id = %q, want %q", rid, id)
		}
	}
	r := s.WaitReceiptsAcked(t, 1, ioTimeout)
	if r.Receipts.Sent != 2 {
		t.Fatalf("receipts = %+v, want sent 2", r.Receipts)
	}
}

func TestMO(t *testing.T) {
	s := start(t)
	if code := s.SendMO(t, "+919876543210", "56161", "STATUS"); code != http.StatusConflict {
		t.Fatalf("SendMO with nothing bound: HTTP %d, want 409", code)
	}
	c := bound(t, s)

	type result struct {
		d   deliverSM
		err error
	}
	// SendMO blocks until the deliver_sm is answered, so answer it from
	// another goroutine (which must not call t.Fatal).
	answer := func() chan result {
		ch := make(chan result, 1)
		go func() {
			p, err := c.readRaw(ioTimeout)
			if err == nil && p.id != cmdDeliverSM {
				err = fmt.Errorf("got PDU 0x%08x, want deliver_sm", p.id)
			}
			if err != nil {
				ch <- result{err: err}
				return
			}
			b := make([]byte, 16, 17)
			binary.BigEndian.PutUint32(b[0:], 17)
			binary.BigEndian.PutUint32(b[4:], cmdDeliverSMResp)
			binary.BigEndian.PutUint32(b[12:], p.seq)
			_, err = c.conn.Write(append(b, 0))
			d, perr := parseDeliverSM(p.body)
			if err == nil {
				err = perr
			}
			ch <- result{d: d, err: err}
		}()
		return ch
	}

	ch := answer()
	if code := s.SendMO(t, "+919876543210", "56161", "STATUS"); code != http.StatusOK {
		t.Fatalf("SendMO: HTTP %d, want 200", code)
	}
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	d := res.d
	if d.esmClass != 0 || d.dataCoding != 0 || string(d.shortMessage) != "STATUS" ||
		d.sourceAddr != "919876543210" || d.sourceTON != 1 || d.destinationAddr != "56161" {
		t.Fatalf("MO deliver_sm = %+v (text %q)", d, d.shortMessage)
	}

	ch = answer()
	if code := s.SendMO(t, "+919876543210", "56161", "स्थिति"); code != http.StatusOK {
		t.Fatalf("SendMO (UCS-2): HTTP %d, want 200", code)
	}
	res = <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.d.dataCoding != 8 || fromUCS2(res.d.shortMessage) != "स्थिति" {
		t.Fatalf("UCS-2 MO: data_coding %d text %q", res.d.dataCoding, fromUCS2(res.d.shortMessage))
	}
	if r := s.Record(t); r.MO != (Counts{Sent: 2, Acked: 2}) {
		t.Fatalf("mo = %+v, want sent 2 acked 2", r.MO)
	}
}

func TestDrop(t *testing.T) {
	s := start(t)
	c := bound(t, s)
	s.Drop(t)
	if _, err := c.readRaw(ioTimeout); err == nil {
		t.Fatal("the connection is still open after Drop")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("no close after Drop: %v", err)
	}
	s.WaitBound(t, 0, ioTimeout)
	// Still listening.
	c2 := bound(t, s)
	if st, id := c2.submit(submitReq{shortMessage: []byte("after drop")}); st != StatusOK || id == "" {
		t.Fatalf("submit after Drop: status 0x%02x id %q", st, id)
	}
}

func TestRestart(t *testing.T) {
	s := start(t)
	addr := s.Addr
	c := bound(t, s)
	if st, _ := c.submit(submitReq{shortMessage: []byte("before")}); st != StatusOK {
		t.Fatalf("submit: status 0x%02x", st)
	}
	oldHTTP := s.HTTPAddr()

	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("Addr changed from %s to %s", addr, s.Addr)
	}
	if _, err := c.readRaw(ioTimeout); err == nil {
		t.Fatal("the old connection survived Restart")
	}
	c2 := bound(t, s)
	if st, id := c2.submit(submitReq{shortMessage: []byte("after")}); st != StatusOK || id == "" {
		t.Fatalf("submit after Restart: status 0x%02x id %q", st, id)
	}
	r := s.WaitSubmits(t, 1, ioTimeout)
	if len(r.Submits) != 1 || r.Submits[0].Text != "after" {
		t.Fatalf("after Restart the record holds %+v", r.Submits)
	}
	t.Logf("control API moved from %s to %s", oldHTTP, s.HTTPAddr())

	s.Stop()
	s.Stop() // idempotent
}
