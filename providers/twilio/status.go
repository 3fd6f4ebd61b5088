package twilio

import (
	"net/url"

	"sandesh/providers"
)

// statuses maps Twilio's MessageStatus values to ours. See
// https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
var statuses = map[string]providers.DeliveryStatus{
	// Still inside Twilio: we recorded the hand-over as sent ourselves.
	"accepted":  providers.DeliveryIgnore,
	"scheduled": providers.DeliveryIgnore,
	"queued":    providers.DeliveryIgnore,
	"sending":   providers.DeliveryIgnore,
	// Handed to the carrier.
	"sent": providers.DeliverySent,
	// The handset has it.
	"delivered": providers.DeliveryDelivered,
	"read":      providers.DeliveryDelivered,
	// The carrier could not deliver it.
	"undelivered": providers.DeliveryUndelivered,
	// Twilio could not send it, or it was a scheduled message cancelled.
	"failed":   providers.DeliveryFailed,
	"canceled": providers.DeliveryFailed,
	// Only for multi-part MMS/RCS messages where some parts arrived: the
	// callbacks that follow say delivered or undelivered, so this one says
	// nothing we could act on for an SMS.
	"partially_delivered": providers.DeliveryIgnore,
}

// MapStatus translates a Twilio MessageStatus into a DeliveryStatus.
// Unknown values (Twilio adds some from time to time) are ignored.
func MapStatus(twilioStatus string) providers.DeliveryStatus {
	return statuses[twilioStatus] // the zero value is DeliveryIgnore
}

// StatusCallbackURL is the URL Twilio posts message status changes to:
// publicURL + "/webhooks/twilio/" + provider + "/status?m=" + messageID.
func StatusCallbackURL(publicURL, provider, messageID string) string {
	return publicURL + "/webhooks/twilio/" + provider + "/status?m=" + url.QueryEscape(messageID)
}
