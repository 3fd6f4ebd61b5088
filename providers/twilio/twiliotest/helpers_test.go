package twiliotest_test

import "sandesh/providers"

func providersMsg(body string) providers.Outbound {
	return providers.Outbound{MessageID: "m1", To: "+919812345678", Body: body}
}
