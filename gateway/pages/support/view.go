package support

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"sandesh/gateway/pages/webpage"
)

// view is what the template shows.
type view struct {
	Lang, Page, CSS   string
	Langs             []webpage.LangLink
	Staff             string // the signed-in key's name; "" shows no header
	Admin             bool
	CSRF              string // of the session; the pre-session token on the sign-in form
	Error, ErrorField string // ErrorField is the id of the input the error is about
	Back              string // where an error page leads back to
	Typed             string // the mobile as typed, in the search form
	Flash             string
	Lookup            *lookupView
	Confirm           *confirmView
	Audit             *auditView
	Dead              *deadView
	words             words
}

// T is the page string of key.
func (v view) T(key string) string { return v.words.Text(key) }

// Tr is the page string of key with {name}s filled from pairs.
func (v view) Tr(key string, pairs ...string) string { return v.words.Text(key, pairs...) }

// Wide says whether the page shows tables, which need the screen's width.
func (v view) Wide() bool { return v.Page == pageSearch || v.Page == pageAudit || v.Page == pageDead }

func (v *view) signedIn(s Staff) { v.Staff, v.Admin, v.CSRF = s.Name, s.Admin, s.CSRF }

// lookupView is a search's result.
type lookupView struct {
	Mobile  string // E.164, the heading and the actions' mobile
	AsOf    string
	People  []personView
	History []entryView
}

type personView struct {
	MaskedID, Name      string
	Status, StatusClass string
	Doses               int
	LastDose            string // "COVISHIELD, 1 Oct 2026"; "" without a dose
	NextDue             string // "14 Feb 2027, reminder sent" or "… not sent"; "" when none is due
	Appt                *apptView
	Confirmation        *actionForm // nil without a dose to confirm
	ConfirmationResends counter
}

type apptView struct {
	Center, Date, Slot string
	Dose               int
	Locked             bool
	Resends            counter
	Actions            []actionForm
}

// counter is a number of resends left, in words.
type counter struct {
	Left int
	Text string
}

// actionForm is a button of the search page and the hidden fields of its
// form, which the confirmation step carries on to the action.
type actionForm struct {
	What, Label                  string
	AppointmentID, BeneficiaryID string
	Mobile, CSRF                 string
}

type entryView struct {
	ID, Kind, Status string // as given, for data- attributes
	At, What         string
	Language, Body   string
	StatusText       string
	Changes          []string
	Provider         string
	Segments         string // "" for none
	Error            string // the error code in words, "" for none
}

// confirmView is the confirmation step of an action.
type confirmView struct {
	What, Title, Explain string
	Warning              string // what else the action does, "" when nothing
	Name, MaskedID       string
	Mobile               string // E.164
	Appt                 *apptView
	LastDose             string
	Resends              counter
	Reason               string
	Cancel               string // the search page
	Form                 actionForm
}

// spent shows no resends left: the backend has just said so, whatever
// the search before the action counted.
func (cv *confirmView) spent(w words) {
	cv.Resends = resendsLeft(w, 0)
	if cv.Appt != nil {
		cv.Appt.Resends = cv.Resends
	}
}

type auditView struct {
	Staff, Mobile string // the filter as typed
	Limit         int
	LimitSet      bool // a limit other than the default is kept in the form
	Keys          []keyOption
	Ran           bool // the trail was read: show its table
	Entries       []auditRow
}

// query is the audit page's query, for the language links.
func (a auditView) query() url.Values {
	q := url.Values{"staff": {a.Staff}, "mobile": {a.Mobile}}
	if a.LimitSet {
		q.Set("limit", strconv.Itoa(a.Limit))
	}
	return q
}

type deadView struct {
	Shown, Total string
	Rows         []deadRow
	CSRF         string
}

type deadRow struct {
	ID, At, Kind, What, Mobile, Reason, Tries string
}

// deadView is the dead-letter list in the staff's words.
func (p *Page) deadView(w words, list DeadLetters, csrf string) *deadView {
	out := &deadView{Shown: strconv.Itoa(len(list.Letters)), Total: strconv.FormatInt(list.Total, 10), CSRF: csrf}
	for _, d := range list.Letters {
		r := deadRow{ID: d.ID, At: p.dateTime(w, d.At), Kind: w.Or("dead_kind_"+d.Kind, d.Kind),
			What: d.Ref, Mobile: d.Mobile, Reason: d.Reason}
		if d.Template != "" {
			r.What = w.Or("template_"+d.Template, d.Template)
		}
		if d.Tries > 0 {
			r.Tries = strconv.Itoa(d.Tries)
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

type keyOption struct {
	ID, Label string
	Selected  bool
}

type auditRow struct {
	At, Staff, Action, Target, Mobile, Reason, Detail string
}

var statusClass = map[string]string{
	"FULLY_VACCINATED":     "vaccination-full",
	"PARTIALLY_VACCINATED": "vaccination-partial",
	"NOT_VACCINATED":       "vaccination-none",
}

// results is lk for the search page; typed stands in for a Mobile the
// backend left out.
func (p *Page) results(w words, lk Lookup, typed, csrf string) *lookupView {
	mobile := lk.Mobile
	if mobile == "" {
		mobile = typed
	}
	out := &lookupView{Mobile: mobile, AsOf: p.dateTime(w, p.now())}
	for _, per := range lk.People {
		out.People = append(out.People, p.person(w, per, mobile, csrf))
	}
	// Newest first, whatever order the backend kept.
	history := slices.Clone(lk.History)
	slices.SortStableFunc(history, func(a, b Entry) int { return b.At.Compare(a.At) })
	for _, e := range history {
		out.History = append(out.History, p.entry(w, e))
	}
	return out
}

func (p *Page) person(w words, per Person, mobile, csrf string) personView {
	v := personView{MaskedID: per.MaskedID, Name: per.Name, Status: w.Or("status_"+per.Status, per.Status),
		StatusClass: statusClass[per.Status], Doses: per.Doses, LastDose: lastDose(w, per), NextDue: nextDue(w, per)}
	if a := per.Appointment; a != nil {
		v.Appt = appointment(w, *a)
		for _, what := range []string{ActSecurityCode, ActRegenerate, ActSlip} {
			v.Appt.Actions = append(v.Appt.Actions, actionForm{What: what, Label: w.Text("act_" + what),
				AppointmentID: a.ID, Mobile: mobile, CSRF: csrf})
		}
	}
	if per.Doses > 0 {
		v.Confirmation = &actionForm{What: ActConfirmation, Label: w.Text("act_" + ActConfirmation),
			BeneficiaryID: per.BeneficiaryID, Mobile: mobile, CSRF: csrf}
		v.ConfirmationResends = resendsLeft(w, per.ConfirmationResendsLeft)
	}
	return v
}

func appointment(w words, a Appointment) *apptView {
	return &apptView{Center: a.CenterName, Date: dateOnly(w, a.Date), Slot: a.Slot, Dose: a.Dose,
		Locked: a.Locked, Resends: resendsLeft(w, a.ResendsLeft)}
}

// lastDose is a person's last vaccine and its date, "" without a dose.
func lastDose(w words, per Person) string {
	d := dateOnly(w, per.LastDoseDate)
	switch {
	case per.LastVaccine != "" && d != "":
		return w.Text("last_dose", "vaccine", per.LastVaccine, "date", d)
	case per.LastVaccine != "":
		return per.LastVaccine
	}
	return d
}

// nextDue is when a person's next dose opens and whether its reminder
// went, "" when none is due.
func nextDue(w words, per Person) string {
	if per.NextDue == "" {
		return ""
	}
	if per.RemindedDose == per.Doses+1 && per.RemindedOn != "" {
		return w.Text("next_due_reminded", "date", dateOnly(w, per.NextDue), "on", dateOnly(w, per.RemindedOn))
	}
	return w.Text("next_due", "date", dateOnly(w, per.NextDue))
}

// resendsLeft is the counter of n resends left this hour.
func resendsLeft(w words, n int) counter {
	switch {
	case n <= 0:
		return counter{0, w.Text("resends_left_none")}
	case n == 1:
		return counter{1, w.Text("resends_left_one")}
	}
	return counter{n, w.Text("resends_left", "n", strconv.Itoa(n))}
}

func (p *Page) entry(w words, e Entry) entryView {
	v := entryView{ID: e.ID, Kind: e.Kind, Status: e.Status, At: p.dateTime(w, e.At), What: entryWhat(w, e),
		Body: e.Body, StatusText: w.Or("msg_status_"+e.Status, e.Status), Provider: e.Provider,
		Error: errorCodeText(w, e.ErrorCode)}
	if e.Language != "" {
		v.Language = w.Or("language_"+e.Language, e.Language)
	}
	if e.Kind == KindUSSD {
		v.Body = ussdAnswers(w, e)
	}
	if e.Segments > 0 {
		v.Segments = strconv.Itoa(e.Segments)
	}
	for _, ch := range e.Changes {
		v.Changes = append(v.Changes, w.Text("change", "status", w.Or("msg_status_"+ch.Status, ch.Status),
			"time", p.changeTime(w, e.At, ch.At)))
	}
	return v
}

// entryWhat is what an entry was, in words.
func entryWhat(w words, e Entry) string {
	switch e.Kind {
	case KindOutbound:
		if strings.HasPrefix(e.Template, "kw_") {
			return w.Text("template_keyword_reply")
		}
		return w.Or("template_"+e.Template, e.Template)
	case KindInbound:
		if e.Keyword != "" {
			return w.Text("sms_in_keyword", "keyword", e.Keyword)
		}
		return w.Text("sms_in")
	case KindCall:
		return w.Text("call_in")
	case KindUSSD:
		if e.ServiceCode != "" {
			return w.Text("ussd_code", "code", e.ServiceCode)
		}
		return w.Text("ussd")
	}
	return e.Kind
}

// ussdAnswers is what a citizen typed in a USSD session.
func ussdAnswers(w words, e Entry) string {
	switch {
	case e.Body == "":
		return w.Text("ussd_no_answers")
	case e.Steps == 1:
		return w.Text("ussd_answers_one", "answers", e.Body)
	}
	return w.Text("ussd_answers", "answers", e.Body, "steps", strconv.Itoa(e.Steps))
}

// changeTime is when a message reached a status: the clock to the second,
// with the date too when it is not the day the message was made.
func (p *Page) changeTime(w words, made, at time.Time) string {
	m, a := made.In(p.loc), at.In(p.loc)
	clock := a.Format("15:04:05")
	if m.Year() == a.Year() && m.YearDay() == a.YearDay() {
		return clock
	}
	return w.Date(a) + ", " + clock
}

// describe finds t among the people of lk and says what acting on it will
// do; an error when t is not on the mobile (any more).
func (p *Page) describe(w words, lk Lookup, t target) (*confirmView, *Error) {
	mobile := lk.Mobile
	if mobile == "" {
		mobile = t.mobile
	}
	for _, per := range lk.People {
		cv := &confirmView{What: t.what, Title: w.Text("act_" + t.what), Name: per.Name, MaskedID: per.MaskedID,
			Mobile: mobile, Cancel: searchHref(mobile),
			Explain: w.Text("explain_"+t.what, "mobile", mobile),
			Form:    actionForm{What: t.what, Mobile: mobile}}
		switch {
		case t.what == ActConfirmation && per.BeneficiaryID == t.beneficiaryID:
			if per.Doses <= 0 {
				return nil, &Error{Kind: ErrNoDose}
			}
			cv.LastDose = lastDose(w, per)
			cv.Resends = resendsLeft(w, per.ConfirmationResendsLeft)
			cv.Form.BeneficiaryID = per.BeneficiaryID
			return cv, nil
		case t.what != ActConfirmation && per.Appointment != nil && per.Appointment.ID == t.appointmentID:
			cv.Appt = appointment(w, *per.Appointment)
			cv.Resends = cv.Appt.Resends
			cv.Form.AppointmentID = per.Appointment.ID
			if t.what == ActRegenerate {
				cv.Warning = w.Text("warn_regenerate")
			}
			return cv, nil
		}
	}
	return nil, &Error{Kind: ErrNotFound}
}

// keyOptions are the staff filter's choices, "Name (role)", the filter's
// own selected.
func keyOptions(w words, keys []StaffKey, selected string) []keyOption {
	out := make([]keyOption, 0, len(keys))
	for _, k := range keys {
		label := "key_option"
		if k.Revoked {
			label = "key_option_revoked"
		}
		out = append(out, keyOption{ID: k.ID, Selected: k.ID == selected,
			Label: w.Text(label, "name", k.Name, "role", w.Or("role_"+k.Role, k.Role))})
	}
	return out
}

func (p *Page) auditRows(w words, entries []AuditEntry) []auditRow {
	out := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		out = append(out, auditRow{At: p.dateTime(w, e.At), Staff: e.Staff,
			Action: w.Or("audit_action_"+e.Action, e.Action), Target: e.Target, Mobile: e.Mobile,
			Reason: e.Reason, Detail: e.Detail})
	}
	return out
}

// dateTime is t in the programme's time zone, "23 Nov 2026, 14:05" with
// the month in w's language; "" for no time.
func (p *Page) dateTime(w words, t time.Time) string { return w.DateTime(t, p.loc) }

// dateOnly is a YYYY-MM-DD date as "24 Nov 2026"; as given when it is not one.
func dateOnly(w words, s string) string {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return w.Date(d)
}

// apptArgs is what the template of an appointment needs: the page's words
// and the appointment.
type apptArgs struct {
	V view
	A *apptView
}

// With pairs the view with an appointment for its template.
func (v view) With(a *apptView) apptArgs { return apptArgs{v, a} }
