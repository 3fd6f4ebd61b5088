package gateway

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sandesh/gateway/pages/support"
	"sandesh/langs"
	"sandesh/providers/twilio/twiliotest"
	"sandesh/store"
)

// call rings our Twilio number from from, signed as Twilio signs it.
func (r *rig) call(t *testing.T, sid, from string) (int, string, string) {
	t.Helper()
	resp, err := r.double.PostCall(context.Background(), r.url+"/webhooks/twilio/primary/voice",
		twiliotest.Call{Sid: sid, From: from, To: ourNumber})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// templatesTo lists the templates of the messages queued to mobile after
// the first skip, with their language.
func (r *rig) templatesTo(t *testing.T, mobile string, skip int) []string {
	t.Helper()
	var got []string
	for _, m := range r.outbound(t, mobile)[skip:] {
		got = append(got, m.Template+"/"+m.Language)
	}
	return got
}

func TestMissedCall(t *testing.T) {
	r := newRig(t)
	a, b := inboundFixtures(t, r)
	const unknown = "+919876543230"
	reject := `<Response><Reject reason="busy"/></Response>` // exactly as API.md gives it

	for _, tc := range []struct {
		name, sid, from string
		advance         time.Duration
		want            []string
	}{
		{"three people: one status each, in English", "CA01", b, 0, []string{"kw_status/en", "kw_status/en", "kw_status/en"}},
		{"a Marathi mobile hears Marathi", "CA02", a, 0, []string{"kw_status/mr"}},
		{"not registered", "CA03", unknown, 0, []string{"kw_not_registered/en"}},
		{"Twilio's retry of the same call", "CA01", b, 0, nil},
		{"a second call within 10 minutes", "CA04", b, 9 * time.Minute, nil},
		{"a call 10 minutes after the answer", "CA05", b, time.Minute + time.Second, []string{"kw_status/en", "kw_status/en", "kw_status/en"}},
		{"a withheld number", "CA06", "anonymous", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.advance(tc.advance)
			before := len(r.outbound(t, tc.from))
			code, ctype, body := r.call(t, tc.sid, tc.from)
			if code != http.StatusOK || !strings.HasPrefix(ctype, "text/xml") || body != reject {
				t.Fatalf("answer %d %q %q, want 200 text/xml %q", code, ctype, body, reject)
			}
			if got := r.templatesTo(t, tc.from, before); !slices.Equal(got, tc.want) {
				t.Errorf("SMS queued %v, want %v", got, tc.want)
			}
		})
	}

	// Each call is in the caller's history, once, marked as a call.
	hist, err := r.store.MessagesByMobile(context.Background(), b, 0)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, m := range hist {
		if m.Direction == "in" {
			if m.Channel != "call" || m.Body != "" {
				t.Errorf("inbound record %+v, want a call with no body", m)
			}
			if e := consoleEntry(m); e.Kind != support.KindCall {
				t.Errorf("the console lists a call as %q", e.Kind)
			}
			calls = append(calls, m.ProviderMessageID)
		}
	}
	if want := []string{"CA05", "CA04", "CA01"}; !slices.Equal(calls, want) {
		t.Errorf("calls in the history %v, want %v", calls, want)
	}

	// The call window is not the SMS reply window: a STATUS SMS right
	// after a call is answered, and a call after SMS replies too.
	before := len(r.outbound(t, a))
	if code, _ := r.inbound(t, "primary", "SM-after-call", a, "STATUS"); code != 200 {
		t.Fatalf("SMS after a call: %d", code)
	}
	if got := r.templatesTo(t, a, before); !slices.Equal(got, []string{"kw_status/mr"}) {
		t.Errorf("SMS after a call answered with %v", got)
	}
}

func TestMissedCallBadRequests(t *testing.T) {
	r := newRig(t)
	post := func(path, sig, form string) (int, string) { return r.postSigned(t, path, sig, form) }
	if code, body := post("/webhooks/twilio/primary/voice", "bm90IGEgc2lnbmF0dXJl", "CallSid=CA1&From=%2B919876543210"); code != 403 || !strings.Contains(body, `"forbidden"`) {
		t.Errorf("bad signature: %d %s", code, body)
	}
	if code, body := post("/webhooks/twilio/nobody/voice", "x", "CallSid=CA1"); code != 404 || !strings.Contains(body, `"not_found"`) {
		t.Errorf("unknown provider: %d %s", code, body)
	}
	for _, c := range []twiliotest.Call{{Sid: "", From: "+919876543210"}, {Sid: "CA1", From: ""}, {Sid: strings.Repeat("C", 65), From: "+919876543210"}} {
		code, _, body := r.call(t, c.Sid, c.From)
		if code != 400 || !strings.Contains(body, `"field":"CallSid"`) {
			t.Errorf("call %+v: %d %s, want 400 on CallSid", c, code, body)
		}
	}
	if n, _ := r.rdb.DBSize(context.Background()).Result(); n > 0 {
		keys, _ := r.rdb.Keys(context.Background(), "sandesh:*").Result()
		for _, k := range keys {
			if strings.Contains(k, "CA1") || strings.Contains(k, ":history:") {
				t.Errorf("a refused call left %s", k)
			}
		}
	}
}

// TestMissedCallOwed: a process that dies after storing a call leaves its
// answer owed, and the sweeper answers it as STATUS under the call limit.
func TestMissedCallOwed(t *testing.T) {
	r := newRig(t)
	_, b := inboundFixtures(t, r)
	ctx := context.Background()
	got, err := r.store.Receive(ctx, store.Inbound{Provider: "primary", ProviderMessageID: "CA-died", From: b, To: ourNumber,
		OwesReply: true, Call: true}, r.gw.effect(callCommand), callLimit)
	if err != nil || !got.Owed {
		t.Fatalf("Receive = %+v, %v; want the answer owed", got, err)
	}
	before := len(r.outbound(t, b))
	if _, err := r.gw.SweepNotifications(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := r.templatesTo(t, b, before); !slices.Equal(got, []string{"kw_status/en", "kw_status/en", "kw_status/en"}) {
		t.Errorf("the sweeper answered %v", got)
	}
	// The sweeper spent the call window's answer: another call now is not answered.
	before = len(r.outbound(t, b))
	r.call(t, "CA-next", b)
	if got := r.templatesTo(t, b, before); len(got) != 0 {
		t.Errorf("a call right after the swept answer got %v", got)
	}
}

// TestRepliesInEveryLanguage: LANG switches a mobile to each of the twelve
// languages (by code, by its English name and by its native name), the
// confirmation comes in it, and STATUS, a missed call and HELP are then
// answered in it, the status in its words — never the API's enum.
func TestRepliesInEveryLanguage(t *testing.T) {
	r := newRig(t)
	_, b := inboundFixtures(t, r) // three people, one fully vaccinated
	set := r.gw.templates
	for i, l := range langs.All() {
		for j, choose := range []string{"LANG " + l.Code, "lang " + l.English, l.Native} {
			r.resetMobile(t, b)
			r.rdb.Del(context.Background(), r.store.MobileKeyOf("mobile", b, ":msgs")) // the history is capped: start it afresh
			before := 0
			sid := func(what string) string { return "SM-" + l.Code + "-" + strconv.Itoa(j) + "-" + what }
			if code, body := r.inbound(t, "primary", sid("lang"), b, choose); code != 200 {
				t.Fatalf("%q: %d %s", choose, code, body)
			}
			r.inbound(t, "primary", sid("status"), b, "STATUS")
			r.inbound(t, "primary", sid("help"), b, "HELP")
			got := r.outbound(t, b)[before:]
			var names []string
			for _, m := range got {
				names = append(names, m.Template+"/"+m.Language)
			}
			want := []string{"kw_language/" + l.Code, "kw_status/" + l.Code, "kw_status/" + l.Code, "kw_status/" + l.Code, "kw_help/" + l.Code}
			if !slices.Equal(names, want) {
				t.Fatalf("%q then STATUS and HELP: %v, want %v", choose, names, want)
			}
			full := set.Word(l.Code, "fully_vaccinated")
			if !slices.ContainsFunc(got, func(m store.Message) bool { return strings.Contains(m.Body, full) }) || strings.Contains(got[1].Body+got[2].Body+got[3].Body, "VACCINATED") {
				t.Errorf("%s: STATUS replies %q, want the status in words (%q)", l.Code, []string{got[1].Body, got[2].Body, got[3].Body}, full)
			}
		}
		// A missed call now answers in that language too.
		r.advance(callWindow)
		r.rdb.Del(context.Background(), r.store.MobileKeyOf("mobile", b, ":msgs"))
		before := 0
		r.call(t, "CA-lang-"+strconv.Itoa(i), b)
		if got := r.templatesTo(t, b, before); len(got) != 3 || got[0] != "kw_status/"+l.Code {
			t.Errorf("%s: a missed call answered with %v", l.Code, got)
		}
	}
}
