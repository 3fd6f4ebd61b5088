package gateway

import (
	"context"
	"time"

	"sandesh/gateway/keywords"
	"sandesh/store"
)

// MissedCall is a call a citizen made to one of our numbers, as the
// provider's voice webhook reported it. The call itself is rejected, so it
// costs the caller nothing; the answer goes by SMS.
type MissedCall struct {
	Provider string
	CallSID  string
	From     string
	To       string
}

// callWindow is how often a mobile's missed calls are answered at most.
const callWindow = 10 * time.Minute

var (
	// callLimit is one answer per mobile per callWindow, counted apart from
	// the SMS replies.
	callLimit = store.ReplyLimit{Max: 1, Window: callWindow, Calls: true}
	// callCommand is what a missed call asks: the STATUS keyword.
	callCommand = keywords.Command{Keyword: keywords.Status}
)

// MissedCall stores a missed call in the caller's history, once per call
// id, and answers it as the STATUS keyword in the mobile's language — the
// not-registered reply for a mobile with no one on it. Calls within
// callWindow of an answered one are stored and not answered. Like an SMS,
// the record and the answer owed are one step, and the sweeper answers
// what a dying process left owed.
func (g *Gateway) MissedCall(ctx context.Context, call MissedCall) error {
	if call.CallSID == "" || len(call.CallSID) > 64 || call.From == "" {
		return invalid("CallSid", "CallSid and From are required.")
	}
	mobile, err := g.normalizeMobile(call.From)
	sender := mobile
	if err != nil {
		sender = sanitizeSender(call.From) // a withheld or foreign number: stored, not answered
	}
	msg := store.Inbound{
		Provider: call.Provider, ProviderMessageID: call.CallSID, From: sender, To: sanitizeSender(call.To),
		OwesReply: mobile != "", Call: true,
	}
	return g.receive(ctx, msg, mobile, callCommand, g.effect(callCommand), callLimit)
}
