package templates

// segmentBudgets is how many SMS segments each message may cost at worst:
// every variable at its longest (DLT's 30 characters for names, centres
// and verifiers, in a script that makes the message UCS-2: 70 units in one
// segment, 67 a part beyond), in every language. Each SMS segment is paid
// for, so a template is worded to fit its budget; docs/SEGMENTS.md lists
// the table with what each language costs, and a test holds both to it.
var segmentBudgets = map[string]int{
	"appointment_slip":  2,
	"cancellation":      2,
	"dose_confirmation": 3,
	"dose_due":          3,
	"kw_card":           2,
	"kw_cert":           2,
	"kw_code_limited":   2,
	"kw_help":           2,
	"kw_language":       1,
	"kw_no_appointment": 2,
	"kw_no_cert":        2,
	"kw_not_registered": 1,
	"kw_opted_in":       2,
	"kw_opted_out":      2,
	"kw_slip":           2,
	"kw_status":         2,
	"kw_unknown":        2,
	"kyvs_checked":      2,
	"kyvs_otp":          2,
	"security_code":     2,
}

// SegmentBudget is the most segments message name may cost (0: unknown).
func SegmentBudget(name string) int { return segmentBudgets[name] }
