package support

import (
	"strings"

	"sandesh/gateway/pages/webpage"
)

// words are one language's page strings, by key.
type words = webpage.Words

// stringsDir holds one "<lang>.txt" a language.
const stringsDir = "assets/i18n"

// errorCodeText is a delivery error code in words (errcode_<code> in the
// strings), with the code itself so that staff can quote it to the
// provider: "handset unreachable (30003)". Our http_NNN codes and codes the
// strings do not know are said with the code in the words.
func errorCodeText(w words, code string) string {
	if code == "" {
		return ""
	}
	if st, ok := strings.CutPrefix(code, "http_"); ok && len(st) == 3 && strings.Trim(st, "0123456789") == "" {
		return w.Text("error_code_http", "status", st)
	}
	// Only an id-like code makes a key, so that no code can name another
	// string of the page.
	if validID(code) {
		if t, ok := w["errcode_"+code]; ok {
			return w.Text("error_code_with", "text", t, "code", code)
		}
	}
	return w.Text("error_code_other", "code", code)
}
