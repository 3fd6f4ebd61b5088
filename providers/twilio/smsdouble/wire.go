package smsdouble

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sandesh/providers/twilio"
)

// APIVersion is the only Twilio REST API version the doubles serve.
const APIVersion = "2010-04-01"

// Message is one message as a create request handed it to Twilio.
type Message struct {
	Sid                 string
	To                  string
	From                string
	MessagingServiceSid string
	Body                string
	StatusCallback      string
	At                  time.Time
}

// Resource is Twilio's Message resource as the create call returns it.
type Resource struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// NewResource builds the resource Twilio answers when account accepts m.
func NewResource(account string, m Message) Resource {
	uri := "/" + APIVersion + "/Accounts/" + account + "/Messages/" + m.Sid
	date := m.At.UTC().Format(time.RFC1123Z) // RFC 2822, as Twilio writes it
	res := Resource{
		AccountSid:      account,
		APIVersion:      APIVersion,
		Body:            m.Body,
		DateCreated:     date,
		DateUpdated:     date,
		Direction:       "outbound-api",
		NumMedia:        "0",
		NumSegments:     strconv.Itoa(segments(m.Body)),
		PriceUnit:       "USD",
		Sid:             m.Sid,
		Status:          "queued",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"},
		To:              m.To,
		URI:             uri + ".json",
	}
	if m.From != "" {
		res.From = &m.From
	}
	if m.MessagingServiceSid != "" {
		res.MessagingServiceSid = &m.MessagingServiceSid
		if m.From == "" {
			// Like Twilio: the service has not picked a sender yet, so the
			// message is only "accepted" and its segments are not counted.
			res.Status = "accepted"
			res.NumSegments = "0"
		}
	}
	return res
}

// ErrorBody is Twilio's JSON body of an error response.
type ErrorBody struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// errorTexts are Twilio's texts for the codes the doubles answer most.
var errorTexts = map[int]string{
	20003: "Authenticate",
	20005: "Account not active",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "Internal Server Error",
	20503: "Service Unavailable",
	21211: "Invalid 'To' Phone Number",
	21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
	21602: "Message body is required.",
	21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
	21604: "A 'To' phone number is required.",
	21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
	21610: "Attempt to send to unsubscribed recipient",
	21612: "The 'To' phone number is not currently reachable via SMS",
	21614: "'To' number is not a valid mobile number",
	21617: "The concatenated message body exceeds the 1600 character limit.",
}

// WriteError answers with HTTP status and Twilio's error body for code. An
// empty msg takes Twilio's usual text for code; a non-empty retryAfter is
// sent as the Retry-After header.
func WriteError(w http.ResponseWriter, status, code int, msg, retryAfter string) {
	if msg == "" {
		msg = errorTexts[code]
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(ErrorBody{
		Code:     code,
		Message:  msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	})
}

// Why ReadCreate refused a create call.
var (
	ErrAuth = errors.New("smsdouble: wrong credentials or account SID")
	ErrForm = errors.New("smsdouble: unreadable form")
)

// ReadCreate checks a create call's Basic auth and the account SID in its
// path against account and authToken, and parses its form into r.PostForm.
// When it refuses the call it has answered w with Twilio's error and
// returns ErrAuth or ErrForm.
func ReadCreate(w http.ResponseWriter, r *http.Request, account, authToken string) error {
	user, pass, ok := r.BasicAuth()
	if !ok || user != account || subtle.ConstantTimeCompare([]byte(pass), []byte(authToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		WriteError(w, http.StatusUnauthorized, 20003, "", "")
		return ErrAuth
	}
	if r.PathValue("AccountSid") != account {
		WriteError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found", "")
		return ErrAuth
	}
	if err := r.ParseForm(); err != nil {
		WriteError(w, http.StatusBadRequest, 21620, "Invalid request body: "+err.Error(), "")
		return ErrForm
	}
	return nil
}

// ParseMessage reads the message of a create call's form. code is Twilio's
// error code for a required field the form lacks, 0 if it has them all.
func ParseMessage(form url.Values) (m Message, code int) {
	m = Message{
		To:                  form.Get("To"),
		From:                form.Get("From"),
		MessagingServiceSid: form.Get("MessagingServiceSid"),
		Body:                form.Get("Body"),
		StatusCallback:      form.Get("StatusCallback"),
	}
	switch {
	case m.To == "":
		code = 21604
	case m.Body == "" && form.Get("MediaUrl") == "" && form.Get("ContentSid") == "":
		code = 21602
	case m.From == "" && m.MessagingServiceSid == "":
		code = 21603
	}
	return m, code
}

// RandomHex returns n random bytes as 2n lowercase hex digits.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// NewSID returns a fresh Twilio-style sid: prefix ("SM", "AC", …) and 32
// random hex digits.
func NewSID(prefix string) string {
	return prefix + RandomHex(16)
}

// StatusParams are the form fields of Twilio's status callback saying that
// m, sent from account, reached status. errorCode is Twilio's ErrorCode
// field ("30003"), "" for none.
func StatusParams(account string, m Message, status, errorCode string) map[string]string {
	params := map[string]string{
		"MessageSid":    m.Sid,
		"SmsSid":        m.Sid,
		"MessageStatus": status,
		"SmsStatus":     status,
		"AccountSid":    account,
		"From":          m.From,
		"To":            m.To,
		"ApiVersion":    APIVersion,
	}
	if m.MessagingServiceSid != "" {
		params["MessagingServiceSid"] = m.MessagingServiceSid
	}
	if errorCode != "" {
		params["ErrorCode"] = errorCode
	}
	return params
}

// SignedRequest builds the POST Twilio makes to a webhook: params as a
// form, signed in X-Twilio-Signature with authToken over webhookURL.
func SignedRequest(ctx context.Context, authToken, webhookURL string, params map[string]string) (*http.Request, error) {
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(authToken, webhookURL, params))
	return req, nil
}

// gsm7 is the GSM 03.38 basic character set; gsm7ext costs two septets.
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7ext = "^{}\\[~]|€\f"
)

// segments counts SMS segments as Twilio would for body: GSM-7 when every
// character has a septet (160 in one segment, 153 per part), else UCS-2
// (70, or 67 per part in UTF-16 code units).
func segments(body string) int {
	septets, units, gsm := 0, 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7, r):
			septets++
		case strings.ContainsRune(gsm7ext, r):
			septets += 2
		default:
			gsm = false
		}
		if r > 0xFFFF {
			units += 2
		} else {
			units++
		}
	}
	single, part, n := 160, 153, septets
	if !gsm {
		single, part, n = 70, 67, units
	}
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
}
