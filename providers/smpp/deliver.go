package smpp

import (
	"strings"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"

	"sandesh/providers"
)

// DeliveryReceipt is the SMSC's word on a message it took.
type DeliveryReceipt struct {
	Provider          string
	ProviderMessageID string // as submit_sm_resp gave it
	Stat              string // DELIVRD, UNDELIV, EXPIRED, REJECTD, …
	Err               string // the network's error code, "000" for none
	Status            providers.DeliveryStatus
	// ErrorCode is what the message record keeps for a failure: "smpp_"
	// with the stat, and the network's code when it gave one.
	ErrorCode string
}

// esmClassReceipt marks a deliver_sm as a delivery receipt (SMPP 3.4
// 5.2.12: message type bits 2-5 = 0001).
const esmClassReceipt = 0x04

// delivered hands a deliver_sm to the receipt or MO callback. A receipt
// or message that cannot be read is taken (answered OK) and logged: asking
// for it again would bring the same bytes.
func (p *Provider) delivered(d *pdu.DeliverSM) error {
	text, err := d.Message.GetMessage()
	if err != nil {
		p.log.Warn("smpp deliver_sm unreadable", "err", err)
		return nil
	}
	if d.EsmClass&0x3C == esmClassReceipt {
		r, ok := parseReceipt(text, d.OptionalParameters)
		if !ok {
			p.log.Warn("smpp receipt unreadable", "text_len", len(text))
			return nil
		}
		r.Provider = p.cfg.Name
		if p.cfg.OnReceipt == nil {
			return nil
		}
		return p.cfg.OnReceipt(r)
	}
	from := d.SourceAddr.Address()
	if d.SourceAddr.Ton() == data.GSM_TON_INTERNATIONAL && !strings.HasPrefix(from, "+") {
		from = "+" + from
	}
	if p.cfg.OnMO == nil {
		return nil
	}
	return p.cfg.OnMO(MO{Provider: p.cfg.Name, From: from, To: d.DestAddr.Address(), Text: text})
}

// parseReceipt reads a receipt's text, "id:… sub:… dlvrd:… submit date:…
// done date:… stat:DELIVRD err:000 text:…" (SMPP 3.4 appendix B), with the
// receipted_message_id and message_state TLVs first where the SMSC sent
// them: they survive the text formats SMSCs vary.
func parseReceipt(text string, tlvs map[pdu.Tag]pdu.Field) (DeliveryReceipt, bool) {
	var r DeliveryReceipt
	fields := receiptFields(text)
	r.ProviderMessageID, r.Stat, r.Err = fields["id"], strings.ToUpper(fields["stat"]), fields["err"]
	if f, ok := tlvs[pdu.TagReceiptedMessageID]; ok {
		if id := strings.TrimRight(string(f.Data), "\x00"); id != "" {
			r.ProviderMessageID = id
		}
	}
	if f, ok := tlvs[pdu.TagMessageStateOption]; ok && len(f.Data) == 1 {
		if stat, known := messageStates[f.Data[0]]; known {
			r.Stat = stat
		}
	}
	if r.ProviderMessageID == "" || r.Stat == "" {
		return DeliveryReceipt{}, false
	}
	r.Status = statuses[r.Stat]
	if r.Status == providers.DeliveryUndelivered || r.Status == providers.DeliveryFailed {
		r.ErrorCode = "smpp_" + strings.ToLower(r.Stat)
		if r.Err != "" && strings.Trim(r.Err, "0") != "" {
			r.ErrorCode += "_" + r.Err
		}
	}
	return r, true
}

// receiptFields splits a receipt text into its "key:value" fields, keys
// in lower case, values as sent (some SMSCs' ids are case-sensitive). The
// free "text:" at the end is left out; the dates are not needed.
func receiptFields(text string) map[string]string {
	if i := strings.Index(strings.ToLower(text), "text:"); i >= 0 {
		text = text[:i]
	}
	out := map[string]string{}
	for _, f := range strings.Fields(text) {
		if k, v, ok := strings.Cut(f, ":"); ok {
			out[strings.ToLower(k)] = v
		}
	}
	return out
}

// messageStates are the message_state TLV's values (SMPP 3.4 5.2.28).
var messageStates = map[byte]string{
	1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}

// statuses map a receipt's stat onto the message's life. A message still
// en route or accepted is what "sent" already says; UNKNOWN too, as the
// network gave no outcome.
var statuses = map[string]providers.DeliveryStatus{
	"DELIVRD": providers.DeliveryDelivered,
	"UNDELIV": providers.DeliveryUndelivered,
	"EXPIRED": providers.DeliveryUndelivered,
	"DELETED": providers.DeliveryUndelivered,
	"REJECTD": providers.DeliveryFailed,
	"ENROUTE": providers.DeliverySent,
	"ACCEPTD": providers.DeliverySent,
	"UNKNOWN": providers.DeliveryIgnore,
}
