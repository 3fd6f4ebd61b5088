package smpp

import (
	"testing"

	"github.com/linxGnu/gosmpp/pdu"

	"sandesh/providers"
)

func TestParseReceipt(t *testing.T) {
	tlv := func(pairs ...any) map[pdu.Tag]pdu.Field {
		m := map[pdu.Tag]pdu.Field{}
		for i := 0; i < len(pairs); i += 2 {
			m[pairs[i].(pdu.Tag)] = pdu.Field{Tag: pairs[i].(pdu.Tag), Data: pairs[i+1].([]byte)}
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		text     string
		tlvs     map[pdu.Tag]pdu.Field
		want     DeliveryReceipt
		unusable bool
	}{
		{"delivered", "id:7f3A01 sub:001 dlvrd:001 submit date:2611231405 done date:2611231405 stat:DELIVRD err:000 text:Your code",
			nil, DeliveryReceipt{ProviderMessageID: "7f3A01", Stat: "DELIVRD", Err: "000", Status: providers.DeliveryDelivered}, false},
		{"undelivered with the network's code", "id:42 sub:001 dlvrd:000 submit date:2611231405 done date:2611231406 stat:UNDELIV err:001 text:x",
			nil, DeliveryReceipt{ProviderMessageID: "42", Stat: "UNDELIV", Err: "001", Status: providers.DeliveryUndelivered, ErrorCode: "smpp_undeliv_001"}, false},
		{"expired without a code", "id:42 stat:EXPIRED err:000",
			nil, DeliveryReceipt{ProviderMessageID: "42", Stat: "EXPIRED", Err: "000", Status: providers.DeliveryUndelivered, ErrorCode: "smpp_expired"}, false},
		{"rejected fails", "id:42 stat:REJECTD err:0B1",
			nil, DeliveryReceipt{ProviderMessageID: "42", Stat: "REJECTD", Err: "0B1", Status: providers.DeliveryFailed, ErrorCode: "smpp_rejectd_0B1"}, false},
		{"lower-case keys and stat", "ID:42 Stat:delivrd Err:000",
			nil, DeliveryReceipt{ProviderMessageID: "42", Stat: "DELIVRD", Err: "000", Status: providers.DeliveryDelivered}, false},
		{"the text part cannot fake a stat", "id:42 stat:UNDELIV err:001 text:stat:DELIVRD",
			nil, DeliveryReceipt{ProviderMessageID: "42", Stat: "UNDELIV", Err: "001", Status: providers.DeliveryUndelivered, ErrorCode: "smpp_undeliv_001"}, false},
		{"TLVs win over the text", "id:0042 stat:DELIVRD err:000",
			tlv(pdu.TagReceiptedMessageID, []byte("42\x00"), pdu.TagMessageStateOption, []byte{5}),
			DeliveryReceipt{ProviderMessageID: "42", Stat: "UNDELIV", Err: "000", Status: providers.DeliveryUndelivered, ErrorCode: "smpp_undeliv"}, false},
		{"TLVs alone", "",
			tlv(pdu.TagReceiptedMessageID, []byte("abc\x00"), pdu.TagMessageStateOption, []byte{2}),
			DeliveryReceipt{ProviderMessageID: "abc", Stat: "DELIVRD", Status: providers.DeliveryDelivered}, false},
		{"en route says nothing new", "id:42 stat:ENROUTE err:000",
			nil, DeliveryReceipt{ProviderMessageID: "42", Stat: "ENROUTE", Err: "000", Status: providers.DeliverySent}, false},
		{"no id", "sub:001 stat:DELIVRD err:000", nil, DeliveryReceipt{}, true},
		{"no stat", "id:42 err:000", nil, DeliveryReceipt{}, true},
		{"garbage", "\x00\xff hello", nil, DeliveryReceipt{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseReceipt(tc.text, tc.tlvs)
			if ok == tc.unusable {
				t.Fatalf("ok = %v", ok)
			}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
