package support

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sandesh/gateway/pages/webpage/webpagetest"
)

// The keys of the fake backend; no response may ever contain one.
const (
	supportKey  = "sk_live_support_5b7e1c90"
	adminKey    = "ak_live_admin_9d2f04e1"
	centreKey   = "ck_live_centre_31aa77b2" // a key of another role: SignIn refuses it
	supportName = "Helpline Desk 4"
	adminName   = "Programme Admin"
	testMobile  = "+919876543210"
	testApptID  = "APT7781"
	testBenID   = "BEN00012345" // Asha's, with a dose and the appointment
	otherBenID  = "BEN00067890" // Ravi's, fully vaccinated
	testMsgID   = "msg_7Hq2x-Lz"
)

var allKeys = []string{supportKey, adminKey, centreKey}

// fakeBackend stands in for the gateway: a support and an admin key,
// sessions in a map, one mobile with two people and a history, errors a
// test sets per method, and a record of what it was asked.
type fakeBackend struct {
	mu         sync.Mutex
	sessions   map[string]Staff
	n          int
	calls      map[string]int
	signInErr  error
	sessionErr error
	signOutErr error
	searchErr  error
	actErr     error
	keysErr    error
	auditErr   error
	lookup     Lookup
	keys       []StaffKey
	trail      []AuditEntry
	messageID  string
	searched   []string // the mobiles Search got
	actions    []Action
	filters    []AuditFilter
	dead       []DeadLetter
	retryErr   error
	retried    []string // the dead letters RetryDeadLetter got
}

func newFake() *fakeBackend {
	return &fakeBackend{sessions: map[string]Staff{}, calls: map[string]int{}, lookup: testLookup(),
		messageID: testMsgID,
		keys: []StaffKey{
			{ID: "key_support_4", Name: supportName, Role: "support"},
			{ID: "key_admin_1", Name: adminName, Role: "admin"},
		},
		trail: []AuditEntry{
			{At: at(8, 36, 0), Staff: supportName, StaffID: "key_support_4", Role: "support", Action: "resend",
				Target: "appt:" + testApptID, Mobile: "+91******3210", Detail: "security_code", Reason: "Citizen called: no SMS"},
			{At: at(8, 30, 0), Staff: supportName, StaffID: "key_support_4", Role: "support", Action: "search",
				Target: "+91******3210", Mobile: "+91******3210"},
		},
		dead: []DeadLetter{
			{ID: "msg:" + testMsgID, Kind: "message", Template: "security_code", Ref: testMsgID, Mobile: "+91******3210",
				Reason: "30008", At: at(8, 40, 0)},
			{ID: "debt:slip:" + testApptID, Kind: "debt", Ref: "slip:" + testApptID, Reason: "send appointment_slip: cannot render",
				Tries: 10, At: at(8, 20, 0)},
		}}
}

// at is a time on 23 Nov 2026 in UTC; +5:30 makes it IST.
func at(h, m, s int) time.Time { return time.Date(2026, 11, 23, h, m, s, 0, time.UTC) }

// testLookup is the mobile of every test: Asha with one dose and a booked
// second, Ravi fully vaccinated, and their history newest first.
func testLookup() Lookup {
	return Lookup{
		Mobile: testMobile,
		People: []Person{
			{BeneficiaryID: testBenID, MaskedID: "*******2345", Name: "Asha Patil", Status: "PARTIALLY_VACCINATED",
				Doses: 1, LastVaccine: "COVISHIELD", LastDoseDate: "2026-10-01", ConfirmationResendsLeft: 3,
				NextDue: "2026-12-24", RemindedDose: 2, RemindedOn: "2026-12-24",
				Appointment: &Appointment{ID: testApptID, CenterID: "C12", CenterName: "PHC Hadapsar",
					Date: "2026-11-24", Slot: "09:00-11:00", Dose: 2, ResendsLeft: 2}},
			{BeneficiaryID: otherBenID, MaskedID: "*******7890", Name: "Ravi <b>Patil</b>", Status: "FULLY_VACCINATED",
				Doses: 2, LastVaccine: "COVAXIN", LastDoseDate: "2026-09-15", ConfirmationResendsLeft: 1},
		},
		History: []Entry{
			{Kind: KindOutbound, ID: "msg_a1", At: at(8, 35, 0), Template: "security_code", Language: "hi",
				Body: "आपका सुरक्षा कोड **** है", Status: "delivered", Provider: "twilio", Segments: 1,
				Changes: []Change{{"queued", at(8, 35, 0)}, {"sent", at(8, 35, 3)}, {"delivered", at(8, 35, 9)}}},
			{Kind: KindUSSD, ID: "ussd_9", At: at(8, 20, 0), ServiceCode: "*384*12#", Body: "1*2", Steps: 2, Status: "ended"},
			{Kind: KindInbound, ID: "in_5", At: at(8, 10, 0), Body: "STATUS", Keyword: "STATUS", Status: "received"},
			{Kind: KindOutbound, ID: "msg_a0", At: at(7, 0, 0), Template: "appointment_slip", Language: "en",
				Body: "Slip: PHC Hadapsar 24-11 09:00, code ****", Status: "undelivered", Provider: "twilio",
				Segments: 2, ErrorCode: "30003",
				Changes: []Change{{"queued", at(7, 0, 0)}, {"sent", at(7, 0, 2)}, {"undelivered", at(7, 1, 30)}}},
		},
	}
}

func (f *fakeBackend) called(m string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[m]
}

func (f *fakeBackend) SignIn(_ context.Context, key string) (Staff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["SignIn"]++
	if f.signInErr != nil {
		return Staff{}, f.signInErr
	}
	var s Staff
	switch key {
	case supportKey:
		s = Staff{Name: supportName}
	case adminKey:
		s = Staff{Name: adminName, Admin: true}
	default: // the centre key too: not a console role
		return Staff{}, &Error{Kind: ErrUnauthorized}
	}
	f.n++
	s.SessionID, s.CSRF = fmt.Sprintf("sess%04dQ", f.n), fmt.Sprintf("csrf%04dZ", f.n)
	f.sessions[s.SessionID] = s
	return s, nil
}

func (f *fakeBackend) Session(_ context.Context, id string) (Staff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Session"]++
	if f.sessionErr != nil {
		return Staff{}, f.sessionErr
	}
	s, ok := f.sessions[id]
	if !ok {
		return Staff{}, &Error{Kind: ErrUnauthorized}
	}
	return s, nil
}

func (f *fakeBackend) SignOut(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["SignOut"]++
	if f.signOutErr != nil {
		return f.signOutErr
	}
	delete(f.sessions, id)
	return nil
}

// Search knows one mobile, in any format with its last ten digits; other
// numbers of ten digits or more have nothing, shorter ones are none.
func (f *fakeBackend) Search(_ context.Context, _ Staff, mobile string) (Lookup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Search"]++
	f.searched = append(f.searched, mobile)
	if f.searchErr != nil {
		return Lookup{}, f.searchErr
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, mobile)
	if len(digits) < 10 {
		return Lookup{}, &Error{Kind: ErrInvalidMobile}
	}
	last := digits[len(digits)-10:]
	if "+91"+last != f.lookup.Mobile {
		return Lookup{Mobile: "+91" + last}, nil
	}
	return f.lookup, nil
}

func (f *fakeBackend) Act(_ context.Context, _ Staff, a Action) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Act"]++
	f.actions = append(f.actions, a)
	if f.actErr != nil {
		return "", f.actErr
	}
	return f.messageID, nil
}

func (f *fakeBackend) StaffKeys(_ context.Context, s Staff) ([]StaffKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["StaffKeys"]++
	if f.keysErr != nil {
		return nil, f.keysErr
	}
	if !s.Admin {
		return nil, &Error{Kind: ErrForbidden}
	}
	return f.keys, nil
}

func (f *fakeBackend) Audit(_ context.Context, s Staff, flt AuditFilter) ([]AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Audit"]++
	f.filters = append(f.filters, flt)
	if f.auditErr != nil {
		return nil, f.auditErr
	}
	if !s.Admin {
		return nil, &Error{Kind: ErrForbidden}
	}
	return f.trail, nil
}

func (f *fakeBackend) DeadLetters(_ context.Context, s Staff) (DeadLetters, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DeadLetters"]++
	if !s.Admin {
		return DeadLetters{}, &Error{Kind: ErrForbidden}
	}
	return DeadLetters{Letters: f.dead, Total: int64(len(f.dead))}, nil
}

func (f *fakeBackend) RetryDeadLetter(_ context.Context, s Staff, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["RetryDeadLetter"]++
	f.retried = append(f.retried, id)
	switch {
	case !s.Admin:
		return "", &Error{Kind: ErrForbidden}
	case f.retryErr != nil:
		return "", f.retryErr
	case strings.HasPrefix(id, "debt:"):
		return "", nil
	}
	return "msg_retried-1", nil
}

// The time every search is shown as of in tests.
var testNow = time.Date(2026, 11, 23, 14, 5, 0, 0, time.FixedZone("IST", 5*3600+1800))

// rig is a console over a fake backend, and a browser-like client of it
// that checks every response it gets and that none has an API key.
type rig struct {
	*webpagetest.Client
	t    *testing.T
	fake *fakeBackend
	page *Page
}

func newRig(t *testing.T, languages []string, secure bool) *rig {
	t.Helper()
	fake := newFake()
	p, err := New(fake, Options{Languages: languages, SecureCookies: secure})
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return testNow }
	site := "http://support.test/support"
	if secure {
		site = "https://support.test/support"
	}
	return &rig{Client: webpagetest.NewClient(t, site, p.Mount, allKeys...), t: t, fake: fake, page: p}
}

// signIn signs the rig's browser in with key.
func (r *rig) signIn(key string) {
	r.t.Helper()
	form := url.Values{"csrf": {r.CSRF(r.Get("/support"))}, "api_key": {key}}
	if resp := r.Post("/support/signin", form); resp.StatusCode != http.StatusSeeOther {
		r.t.Fatalf("sign-in: status %d\n%s", resp.StatusCode, resp.Body)
	}
}

// sessionCSRF is the CSRF token of the signed-in session.
func (r *rig) sessionCSRF() string {
	r.t.Helper()
	r.fake.mu.Lock()
	defer r.fake.mu.Unlock()
	for _, s := range r.fake.sessions {
		return s.CSRF
	}
	r.t.Fatal("no session")
	return ""
}

// actForm is the form of an action of the search page, with a reason.
func (r *rig) actForm(what, reason string) url.Values {
	f := url.Values{"csrf": {r.sessionCSRF()}, "what": {what}, "mobile": {testMobile}}
	if what == ActConfirmation {
		f.Set("beneficiary_id", testBenID)
	} else {
		f.Set("appointment_id", testApptID)
	}
	if reason != "" {
		f.Set("reason", reason)
	}
	return f
}

// flashRe finds the note of the search page after an action.
var flashRe = regexp.MustCompile(`<p id="flash" role="status">([^<]*)</p>`)
