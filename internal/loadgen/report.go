package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured. It is written as a table (WriteTable)
// and as JSON (its field tags).
type Report struct {
	RunID        string   `json:"run_id"`
	URL          string   `json:"url"`
	Mix          string   `json:"mix"`
	Rate         float64  `json:"rate"` // requests/s asked for; 0: as fast as possible (closed loop)
	Concurrency  int      `json:"concurrency"`
	MobilePrefix string   `json:"mobile_prefix"` // the run's mobiles are +919<prefix>NNNNN
	Warnings     []string `json:"warnings,omitempty"`
	Interrupted  bool     `json:"interrupted,omitempty"` // the run was stopped before its duration

	Setup SetupReport `json:"setup"`

	Started time.Time `json:"started"`
	// Seconds is how long requests were started for: the duration asked
	// for, or less when interrupted. Rates are per second of it.
	Seconds float64 `json:"seconds"`
	// Requests counts every HTTP request of the run (cancels included).
	Requests int `json:"requests"`
	// RatePerSec is Requests / Seconds.
	RatePerSec float64 `json:"rate_per_sec"`
	// Missed counts requests that were due (open loop, -rate > 0) while
	// Concurrency requests were in flight: they were not sent, never later.
	Missed int          `json:"missed"`
	Kinds  []KindReport `json:"kinds"`

	E2E *E2EReport `json:"e2e,omitempty"`
}

// SetupReport is the preparation before the timed run.
type SetupReport struct {
	CenterID      string   `json:"center_id"`
	CreatedCenter bool     `json:"created_center"`
	CreatedKeys   []string `json:"created_keys,omitempty"` // roles of the keys created
	Beneficiaries int      `json:"beneficiaries"`
	Requests      int      `json:"requests"` // registrations, retries included
	Seconds       float64  `json:"seconds"`
	RatePerSec    float64  `json:"rate_per_sec"` // registrations per second
	Latency       Latency  `json:"latency"`      // of registrations
	// Pools is how many mobiles each kind that sends SMS has to itself.
	Pools map[Kind]int `json:"pools"`
}

// KindReport is one kind's requests.
type KindReport struct {
	Kind     Kind           `json:"kind"`
	Requests int            `json:"requests"`
	Statuses map[string]int `json:"statuses"` // status code → count; "error": no answer
	// BadBodies counts answers with the expected status whose body is not
	// what the contract says (no txn_id, no CON/END, …).
	BadBodies  int     `json:"bad_bodies,omitempty"`
	RatePerSec float64 `json:"rate_per_sec"`
	// Latency is from the request being sent to the end of its answer, for
	// every request that was answered, whatever the status.
	Latency Latency `json:"latency"`
	Missed  int     `json:"missed,omitempty"`
	// MobileWaits counts requests that found every mobile of their kind
	// busy and waited for one.
	MobileWaits int `json:"mobile_waits,omitempty"`

	E2E *KindE2E `json:"e2e,omitempty"`
}

// KindE2E is one kind's SMS as the provider double saw them.
type KindE2E struct {
	// Expected counts SMS the gateway owed: one per successful request
	// (a keyword past the gateway's reply limit owes none).
	Expected  int `json:"expected"`
	Delivered int `json:"delivered"`
	// Lost is Expected - Delivered: never seen by the end of the drain.
	Lost int `json:"lost"`
	// Duplicates counts extra copies of delivered SMS (same message id).
	Duplicates int `json:"duplicates"`
	// Unexpected counts SMS to this kind's mobiles that no request explains.
	Unexpected int `json:"unexpected"`
	// Latency is from the request being sent to the double accepting the
	// SMS (its at_unix_nano; the double's clock must agree with ours).
	Latency Latency `json:"latency"`
}

// E2EReport is the end-to-end part of a report.
type E2EReport struct {
	Double string `json:"double"`
	// DrainSeconds is how long the generator waited after the run for SMS
	// on their way; Complete says every expected SMS arrived.
	DrainSeconds float64 `json:"drain_seconds"`
	Complete     bool    `json:"complete"`
	// Messages is how many messages the double accepted since the run
	// started; Foreign how many of them went to mobiles not of this run.
	Messages int           `json:"messages"`
	Foreign  int           `json:"foreign"`
	Record   *DoubleRecord `json:"record,omitempty"`
	// RecordError is why Record is missing.
	RecordError string `json:"record_error,omitempty"`
}

// Kind returns the report of kind k, or nil.
func (r *Report) Kind(k Kind) *KindReport {
	for i := range r.Kinds {
		if r.Kinds[i].Kind == k {
			return &r.Kinds[i]
		}
	}
	return nil
}

// WriteJSON writes r, indented, to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable writes r for a person to read.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	rate := "max (closed loop)"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%g/s (open loop)", r.Rate)
	}
	fmt.Fprintf(&b, "sandesh loadgen  run %s  %s\n", r.RunID, r.URL)
	fmt.Fprintf(&b, "mix %s  rate %s  concurrency %d  mobiles +919%s…\n", r.Mix, rate, r.Concurrency, r.MobilePrefix)
	s := r.Setup
	center := s.CenterID
	if center == "" {
		center = "(none)"
	}
	fmt.Fprintf(&b, "setup: centre %s, %d beneficiaries in %.1fs (%.0f/s, p50 %s ms, p99 %s ms)",
		center, s.Beneficiaries, s.Seconds, s.RatePerSec, fmtMS(s.Latency.P50), fmtMS(s.Latency.P99))
	if len(s.CreatedKeys) > 0 {
		fmt.Fprintf(&b, "; created keys: %s", strings.Join(s.CreatedKeys, ", "))
	}
	b.WriteString("\n")
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	if r.Interrupted {
		b.WriteString("interrupted: the run stopped before its duration\n")
	}
	fmt.Fprintf(&b, "\nrun: %.1fs, %d requests, %.1f/s, %d missed\n\n", r.Seconds, r.Requests, r.RatePerSec, r.Missed)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\trequests\trate/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\t missed\t waits\t statuses")
	for _, k := range r.Kinds {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t %d\t %d\t %s\n", k.Kind, k.Requests, k.RatePerSec,
			fmtMS(k.Latency.P50), fmtMS(k.Latency.P95), fmtMS(k.Latency.P99), fmtMS(k.Latency.Max),
			k.Missed, k.MobileWaits, statusList(k.Statuses, k.BadBodies))
	}
	tw.Flush()

	if e := r.E2E; e != nil {
		state := "all expected SMS arrived"
		if !e.Complete {
			state = "some expected SMS never arrived"
		}
		fmt.Fprintf(&b, "\nend to end at %s: drained %.1fs, %s; latency from request sent to SMS accepted\n\n", e.Double, e.DrainSeconds, state)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "kind\texpected\tdelivered\tlost\tdup\tunexpected\tp50 ms\tp95 ms\tp99 ms\t")
		for _, k := range r.Kinds {
			if k.E2E == nil {
				continue
			}
			x := k.E2E
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", k.Kind, x.Expected, x.Delivered, x.Lost,
				x.Duplicates, x.Unexpected, fmtMS(x.Latency.P50), fmtMS(x.Latency.P95), fmtMS(x.Latency.P99))
		}
		tw.Flush()
		fmt.Fprintf(&b, "double: %d messages since the run started (%d to other mobiles)", e.Messages, e.Foreign)
		if e.Record != nil {
			fmt.Fprintf(&b, "; record: accepted %d, unique message ids %d, duplicated ids %d",
				e.Record.Accepted, e.Record.UniqueMessageIDs, len(e.Record.Duplicates))
		} else if e.RecordError != "" {
			fmt.Fprintf(&b, "; record unavailable: %s", e.RecordError)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// statusList writes statuses as "201:150 429:3 error:1", codes in order.
func statusList(statuses map[string]int, bad int) string {
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		na, errA := strconv.Atoi(a)
		nb, errB := strconv.Atoi(b)
		switch {
		case errA == nil && errB == nil:
			return na - nb
		case errA == nil:
			return -1
		case errB == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, statuses[k]))
	}
	if bad > 0 {
		parts = append(parts, fmt.Sprintf("bad-body:%d", bad))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func fmtMS(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
