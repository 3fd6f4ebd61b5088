package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// SMS is one message the provider double accepted, a line of its
// GET /messages.
type SMS struct {
	SID        string `json:"sid"`
	To         string `json:"to"`
	Body       string `json:"body"`
	MessageID  string `json:"message_id"` // the gateway's message id; "" when the double could not tell
	AtUnixNano int64  `json:"at_unix_nano"`
}

// DoubleRecord is the double's GET /record: what it accepted since its last
// reset, whatever sent it.
type DoubleRecord struct {
	Accepted         int           `json:"accepted"`
	UniqueMessageIDs int           `json:"unique_message_ids"`
	Duplicates       []DuplicateID `json:"duplicates"`
	Rejected         any           `json:"rejected,omitempty"`
	Callbacks        any           `json:"callbacks,omitempty"`
}

// DuplicateID is a gateway message id the double accepted more than once.
type DuplicateID struct {
	MessageID string `json:"message_id"`
	Count     int    `json:"count"`
}

// double reads a provider double's record over its HTTP API:
// GET /messages?since_unix_nano=T (NDJSON), GET /record, POST /reset.
type double struct{ c client }

// messages is every message accepted at or after since, in accept order.
func (d *double) messages(ctx context.Context, since time.Time) ([]SMS, error) {
	path := "/messages?since_unix_nano=" + strconv.FormatInt(since.UnixNano(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("double: GET /messages: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return nil, fmt.Errorf("double: GET /messages: %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var out []SMS
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var m SMS
		if err := json.Unmarshal(text, &m); err != nil {
			return nil, fmt.Errorf("double: GET /messages: line %d: %w", line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("double: GET /messages: %w", err)
	}
	return out, nil
}

// record is the double's summary.
func (d *double) record(ctx context.Context) (DoubleRecord, error) {
	var rec DoubleRecord
	r := d.c.get(ctx, "/record", "")
	if !r.ok(http.StatusOK) {
		return rec, fmt.Errorf("double: GET /record: %s", r.describe())
	}
	if err := json.Unmarshal(r.body, &rec); err != nil {
		return rec, fmt.Errorf("double: GET /record: %w", err)
	}
	return rec, nil
}

// reset clears the double's record.
func (d *double) reset(ctx context.Context) error {
	r := d.c.do(ctx, http.MethodPost, "/reset", nil, nil)
	if r.err != nil || r.status/100 != 2 {
		return fmt.Errorf("double: POST /reset: %s", r.describe())
	}
	return nil
}

// collector keeps the messages read from the double so far, each once
// (by sid), in the order first seen.
type collector struct {
	d     *double
	since time.Time
	seen  map[string]bool
	msgs  []SMS
	maxAt int64
}

// overlap is how far back each poll reaches behind the newest message
// already read, in case the double stamps messages slightly out of accept
// order; sids already seen are skipped.
const overlap = time.Second

func newCollector(d *double, since time.Time) *collector {
	return &collector{d: d, since: since, seen: map[string]bool{}}
}

// poll reads what the double accepted since the last poll and reports how
// many new messages there were.
func (c *collector) poll(ctx context.Context) (int, error) {
	from := c.since
	if c.maxAt > 0 {
		if t := time.Unix(0, c.maxAt).Add(-overlap); t.After(from) {
			from = t
		}
	}
	msgs, err := c.d.messages(ctx, from)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		if c.seen[m.SID] || m.AtUnixNano < c.since.UnixNano() {
			continue
		}
		c.seen[m.SID] = true
		c.msgs = append(c.msgs, m)
		c.maxAt = max(c.maxAt, m.AtUnixNano)
		n++
	}
	return n, nil
}
