// Package stats keeps the counts the admin dashboard draws, summed over
// every web and worker process in Redis: messages by provider and status
// per minute for the last hours, SMS and segments by template per day, and
// when each provider's breaker last changed. Each process counts in memory
// and adds its counts to Redis every few seconds, so the hot paths pay a
// map increment, not a round trip; a process that dies loses at most its
// last few seconds of counts, which a dashboard can afford.
package stats

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// How long the counts are kept.
const (
	minuteTTL = 3 * time.Hour
	dayTTL    = 8 * 24 * time.Hour
)

// Counter counts in memory and flushes to Redis. The zero value is not
// usable; a nil *Counter counts nothing, so callers need no checks.
type Counter struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	loc    *time.Location // the programme's days

	mu      sync.Mutex
	pending map[tally]int64 // counts not yet flushed
	// The keys of the minute and the day being counted, made once each.
	minute, day       int64
	minuteKey, dayKey string
}

// tally is one count's place in Redis: the hash key and the field's two
// parts (provider|status, template|sms or template|segments), joined only
// at flush time so that counting allocates nothing.
type tally struct{ key, a, b string }

// New counts into rdb under prefix (the store's); days are loc's.
func New(rdb redis.UniversalClient, prefix string, loc *time.Location, now func() time.Time) *Counter {
	if now == nil {
		now = time.Now
	}
	if loc == nil {
		loc = time.UTC
	}
	return &Counter{rdb: rdb, prefix: prefix, now: now, loc: loc, pending: map[tally]int64{}, minute: -1, day: -1}
}

func (c *Counter) keyOfMinute(minute int64) string {
	return c.prefix + "stats:min:" + strconv.FormatInt(minute, 10)
}
func (c *Counter) keyOfDay(day string) string { return c.prefix + "stats:day:" + day }
func (c *Counter) breakerKey() string         { return c.prefix + "stats:breakers" }

// keys are the keys of the minute and the day of now. Callers hold mu.
func (c *Counter) keys(now time.Time) (minute, day string) {
	if m := now.Unix() / 60; m != c.minute {
		c.minute, c.minuteKey = m, c.keyOfMinute(m)
		local := now.In(c.loc)
		if d := int64(local.Year()*1000 + local.YearDay()); d != c.day {
			c.day, c.dayKey = d, c.keyOfDay(local.Format(time.DateOnly))
		}
	}
	return c.minuteKey, c.dayKey
}

// Status counts a message of template reaching status through provider
// ("" before a provider took it).
func (c *Counter) Status(template, status, provider string) {
	if c == nil || (provider == "" && status != "sent") {
		return
	}
	now := c.now()
	c.mu.Lock()
	minute, day := c.keys(now)
	if provider != "" {
		c.pending[tally{minute, provider, status}]++
	}
	if status == "sent" {
		c.pending[tally{day, template, "sms"}]++
	}
	c.mu.Unlock()
}

// Segments counts the segments of an SMS of template handed to a provider.
func (c *Counter) Segments(template string, n int) {
	if c == nil || n <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	_, day := c.keys(now)
	c.pending[tally{day, template, "segments"}] += int64(n)
	c.mu.Unlock()
}

// BreakerChanged records, at once, that provider's breaker moved to state.
func (c *Counter) BreakerChanged(ctx context.Context, provider, state string) error {
	if c == nil {
		return nil
	}
	v := state + "|" + strconv.FormatInt(c.now().UnixMilli(), 10)
	if err := c.rdb.HSet(ctx, c.breakerKey(), provider, v).Err(); err != nil {
		return fmt.Errorf("record breaker change: %w", err)
	}
	return nil
}

// Flush adds what was counted since the last flush to Redis. On failure
// the counts are kept for the next flush.
func (c *Counter) Flush(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	batch := c.pending
	c.pending = map[tally]int64{}
	c.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		expire := map[string]time.Duration{}
		for t, n := range batch {
			p.HIncrBy(ctx, t.key, t.a+"|"+t.b, n)
			expire[t.key] = minuteTTL
			if strings.HasPrefix(t.key, c.keyOfDay("")) {
				expire[t.key] = dayTTL
			}
		}
		for key, ttl := range expire {
			p.PExpire(ctx, key, ttl)
		}
		return nil
	})
	if err != nil {
		c.mu.Lock()
		for t, n := range batch {
			c.pending[t] += n
		}
		c.mu.Unlock()
		return fmt.Errorf("flush stats: %w", err)
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more.
func (c *Counter) Run(ctx context.Context, every time.Duration) {
	if c == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			c.Flush(flush)
			cancel()
			return
		case <-t.C:
			c.Flush(ctx)
		}
	}
}

// Minute is one minute's messages of a provider by status.
type Minute struct {
	Start  time.Time
	Counts map[string]int64 // status → messages
}

// LastMinutes reads the n minutes up to now (the current one last), per
// provider: what every process flushed so far.
func (c *Counter) LastMinutes(ctx context.Context, n int) (map[string][]Minute, error) {
	now := c.now().Unix() / 60
	p := c.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, n)
	for i := range n {
		cmds[i] = p.HGetAll(ctx, c.keyOfMinute(now-int64(n-1-i)))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	out := map[string][]Minute{}
	for i, cmd := range cmds {
		for field, v := range cmd.Val() {
			provider, status, ok := strings.Cut(field, "|")
			count, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil {
				continue
			}
			if out[provider] == nil {
				out[provider] = emptyMinutes(now, n)
			}
			out[provider][i].Counts[status] += count
		}
	}
	return out, nil
}

// TemplateDay is one template's SMS and segments on a day.
type TemplateDay struct {
	Template      string
	SMS, Segments int64
}

// Today reads the SMS sent and segments by template today.
func (c *Counter) Today(ctx context.Context) ([]TemplateDay, error) {
	h, err := c.rdb.HGetAll(ctx, c.keyOfDay(c.now().In(c.loc).Format(time.DateOnly))).Result()
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	by := map[string]*TemplateDay{}
	for field, v := range h {
		template, what, ok := strings.Cut(field, "|")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			continue
		}
		d := by[template]
		if d == nil {
			d = &TemplateDay{Template: template}
			by[template] = d
		}
		switch what {
		case "sms":
			d.SMS += n
		case "segments":
			d.Segments += n
		}
	}
	out := make([]TemplateDay, 0, len(by))
	for _, k := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[k])
	}
	return out, nil
}

// BreakerChange is when a provider's breaker last changed, and to what.
type BreakerChange struct {
	State string
	At    time.Time
}

// BreakerChanges reads the last change of each provider's breaker.
func (c *Counter) BreakerChanges(ctx context.Context) (map[string]BreakerChange, error) {
	h, err := c.rdb.HGetAll(ctx, c.breakerKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read breaker changes: %w", err)
	}
	out := map[string]BreakerChange{}
	for provider, v := range h {
		state, ms, ok := strings.Cut(v, "|")
		at, err := strconv.ParseInt(ms, 10, 64)
		if ok && err == nil {
			out[provider] = BreakerChange{State: state, At: time.UnixMilli(at)}
		}
	}
	return out, nil
}

// EmptyMinutes is n minutes up to now with nothing counted: a provider's
// hour before its first message.
func (c *Counter) EmptyMinutes(n int) []Minute { return emptyMinutes(c.now().Unix()/60, n) }

// emptyMinutes is n minutes up to the minute now (Unix minutes).
func emptyMinutes(now int64, n int) []Minute {
	out := make([]Minute, n)
	for i := range out {
		out[i] = Minute{Start: time.Unix((now-int64(n-1-i))*60, 0), Counts: map[string]int64{}}
	}
	return out
}
