package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The gateway's loop protection for keyword replies.
const (
	repliesPerWindow = 5
	replyWindow      = 10 * time.Minute
	// The gateway sends a mobile at most 5 KYVS OTPs in any hour; past
	// them it answers the same 202 and sends none.
	otpsPerWindow = 5
	otpWindow     = time.Hour
)

// spend keeps the events of ts within window of now and reports whether
// another is allowed under limit, recording it if so: the sliding-window
// limits the gateway applies, counted the same way.
func spend(ts []time.Time, now time.Time, window time.Duration, limit int) ([]time.Time, bool) {
	kept := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	if len(kept) >= limit {
		return kept, false
	}
	return append(kept, now), true
}

// send sends one request of kind k. ctx carries the requests (they finish
// when the run's time is up); wait bounds waiting for a free mobile (it
// ends with the run).
func (r *runner) send(ctx, wait context.Context, k Kind) {
	if k == KindUSSD {
		r.ussd(ctx)
		return
	}
	p := r.pools[k]
	m := p.acquire(wait)
	if m == nil {
		return
	}
	defer p.release(m)
	switch k {
	case KindDose:
		r.dose(ctx, m)
	case KindBook:
		r.book(ctx, m)
	case KindKYVS:
		r.kyvs(ctx, m)
	case KindInbound:
		r.inbound(ctx, m)
	}
}

// dose records a walk-in dose for m at the run's centre (the centre key's),
// registering a fresh beneficiary first when m has had one.
func (r *runner) dose(ctx context.Context, m *member) {
	if m.dosed && !r.takeDosePerson(m) && !r.freshPerson(ctx, m) {
		return
	}
	m.dosed = true // a dose that may have been recorded is not tried again
	res := r.api.postJSON(ctx, "/v1/doses", r.centerKey, map[string]string{
		"beneficiary_id": m.ID, "vaccine": "COVISHIELD", "batch": "LG1",
	})
	var out struct {
		Dose          int    `json:"dose"`
		CertificateID string `json:"certificate_id"`
		MessageID     string `json:"message_id"`
	}
	created := res.ok(http.StatusCreated)
	bad := created && (json.Unmarshal(res.body, &out) != nil || out.Dose < 1 || out.CertificateID == "")
	r.record(KindDose, res, bad)
	if created {
		// Without a message id the confirmation is owed and the sweeper
		// sends it later: it is found by mobile.
		r.expect(KindDose, m.Mobile, out.MessageID, res.sent)
	}
}

// takeDosePerson puts the next person registered for doses in m's place,
// with the rest of that mobile's for m's next doses; false when none is
// left.
func (r *runner) takeDosePerson(m *member) bool {
	if len(m.fresh) == 0 {
		// A mobile's four at a time, so that no two requests are ever in
		// flight for one mobile.
		i := int(r.doseTaken.Add(1)) - 1
		if i >= len(r.doseGroups) {
			return false
		}
		m.fresh = r.doseGroups[i]
		m.onMobile = perMobile // the mobile is full: past its people, move on
	}
	m.Person, m.fresh, m.dosed = m.fresh[0], m.fresh[1:], false
	return true
}

// freshPerson registers a new beneficiary in m's place: on m's mobile while
// it has room, else on the next mobile past the setup's. It reports whether
// m now holds one.
func (r *runner) freshPerson(ctx context.Context, m *member) bool {
	mobile := m.Mobile
	if m.onMobile >= perMobile {
		i := int(r.nextMobile.Add(1)) - 1
		if i >= MaxBeneficiaries {
			r.record(KindRegister, result{err: errors.New("no mobile left for fresh beneficiaries")}, false)
			return false
		}
		mobile = Mobile(r.prefix, i)
	}
	n := int(r.registered.Add(1)) - 1
	res := r.api.postJSON(ctx, "/v1/beneficiaries", r.cfg.RegistryKey, r.registration(n, mobile))
	var out Person
	created := res.ok(http.StatusCreated)
	bad := created && (json.Unmarshal(res.body, &out) != nil || out.ID == "" || out.Mobile == "")
	r.record(KindRegister, res, bad)
	if !created || bad {
		return false
	}
	if out.Mobile != m.Mobile {
		r.own(out.Mobile, KindDose)
		m.onMobile = 0
	}
	m.Person, m.dosed = out, false
	m.onMobile++
	return true
}

// book books an appointment for m tomorrow, cancelling first the one the
// run booked for m before.
func (r *runner) book(ctx context.Context, m *member) {
	if m.appointment != "" {
		res := r.api.do(ctx, http.MethodPost, "/v1/appointments/"+url.PathEscape(m.appointment)+"/cancel",
			http.Header{"Authorization": {"Bearer " + r.cfg.RegistryKey}}, nil)
		var out struct {
			Status    string `json:"status"`
			MessageID string `json:"message_id"`
		}
		ok := res.ok(http.StatusOK)
		bad := ok && (json.Unmarshal(res.body, &out) != nil || out.Status != "cancelled")
		r.record(KindCancel, res, bad)
		switch {
		case ok:
			r.expect(KindCancel, m.Mobile, out.MessageID, res.sent)
			m.appointment = ""
		case res.status == http.StatusConflict:
			m.appointment = "" // already cancelled or used: nothing to cancel
		default:
			return // still booked: a booking would be refused
		}
	}
	res := r.api.postJSON(ctx, "/v1/appointments", r.cfg.RegistryKey, map[string]any{
		"beneficiary_id": m.ID, "center_id": r.centerID, "date": r.bookDate, "slot": "09:00-11:00", "dose": 1,
	})
	var out struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		MessageID string `json:"message_id"`
	}
	created := res.ok(http.StatusCreated)
	bad := created && (json.Unmarshal(res.body, &out) != nil || out.ID == "" || out.Status != "booked")
	r.record(KindBook, res, bad)
	switch {
	case created:
		m.appointment = out.ID
		r.expect(KindBook, m.Mobile, out.MessageID, res.sent)
	case res.status == http.StatusConflict && errorCode(res.body) == "already_booked":
		// A booking whose answer was lost (a timeout) stands: learn its id
		// so the next turn cancels it.
		m.appointment = r.activeAppointment(ctx, m.ID)
	}
}

// activeAppointment asks the gateway for a beneficiary's active appointment.
func (r *runner) activeAppointment(ctx context.Context, beneficiaryID string) string {
	res := r.api.get(ctx, "/v1/beneficiaries/"+url.PathEscape(beneficiaryID), r.cfg.RegistryKey)
	var out struct {
		Active string `json:"active_appointment_id"`
	}
	if res.ok(http.StatusOK) && json.Unmarshal(res.body, &out) == nil {
		return out.Active
	}
	return ""
}

// kyvs asks for a KYVS OTP for m; it goes to m's mobile.
func (r *runner) kyvs(ctx context.Context, m *member) {
	res := r.api.postJSON(ctx, "/v1/kyvs/otp", r.verifierKey, map[string]string{"name": m.Name, "mobile": m.Mobile})
	var out struct {
		TxnID     string `json:"txn_id"`
		ExpiresIn int    `json:"expires_in"`
	}
	accepted := res.ok(http.StatusAccepted)
	bad := accepted && (json.Unmarshal(res.body, &out) != nil || out.TxnID == "" || out.ExpiresIn <= 0)
	r.record(KindKYVS, res, bad)
	if !accepted {
		return
	}
	r.otpMu.Lock()
	var sent bool
	r.otps[m.Mobile], sent = spend(r.otps[m.Mobile], time.Now(), otpWindow, otpsPerWindow)
	r.otpMu.Unlock()
	if sent {
		r.expect(KindKYVS, m.Mobile, "", res.sent)
	}
}

// inbound sends STATUS from m's mobile as Twilio would deliver it.
func (r *runner) inbound(ctx context.Context, m *member) {
	// The gateway answers 5 keywords per mobile in any 10 minutes and
	// counts only those it answers; keep the same count.
	var answered bool
	m.inbound, answered = spend(m.inbound, time.Now(), replyWindow, repliesPerWindow)
	in := newInboundSMS(r.cfg.AuthToken, r.cfg.PublicURL, r.cfg.Provider, r.cfg.AccountSID, newSID("SM"), m.Mobile, "STATUS")
	res := r.api.postForm(ctx, in.path, in.form, in.header)
	ok := res.ok(http.StatusOK)
	r.record(KindInbound, res, ok && !bytes.Contains(res.body, []byte("<Response")))
	if ok && answered {
		r.expect(KindInbound, m.Mobile, "", res.sent)
	}
}

// ussd posts one USSD callback: requests alternate between opening the
// menu (text "") and choosing 1 (status) in the same session, on every
// registered mobile in turn. The menu derives from text alone, so the two
// need not be in order.
func (r *runner) ussd(ctx context.Context) {
	n := int(r.ussdN.Add(1) - 1)
	p := r.people[(n/2)%len(r.people)]
	text := ""
	if n%2 == 1 {
		text = "1"
	}
	form := url.Values{
		"sessionId":   {fmt.Sprintf("LG%s-%d", r.runID, n/2)},
		"serviceCode": {"*123#"},
		"phoneNumber": {p.Mobile},
		"networkCode": {"404-20"},
		"text":        {text},
	}
	path := "/webhooks/ussd"
	if r.cfg.USSDToken != "" {
		path += "?token=" + url.QueryEscape(r.cfg.USSDToken)
	}
	res := r.api.postForm(ctx, path, form, nil)
	ok := res.ok(http.StatusOK)
	r.record(KindUSSD, res, ok && !bytes.HasPrefix(res.body, []byte("CON ")) && !bytes.HasPrefix(res.body, []byte("END ")))
}

// errorCode is the "error" of a JSON error body.
func errorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error
}
