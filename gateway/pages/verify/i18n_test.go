package verify

import (
	"testing"

	"sandesh/gateway/pages/webpage/webpagetest"
)

// Every language file has en.txt's keys with the same {placeholders}, and
// its texts are in its own script.
func TestStringsFiles(t *testing.T) {
	webpagetest.CheckStrings(t, assets, stringsDir, 3,
		"lang_name", "title", "status_FULLY_VACCINATED", "err_otp_mismatch", "month_11")
}
