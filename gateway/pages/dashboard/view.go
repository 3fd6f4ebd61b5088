package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"sandesh/gateway/pages/webpage"
)

// view is what the template shows.
type view struct {
	Lang, CSS   string
	Langs       []webpage.LangLink
	Error       string
	AsOf        string
	Providers   []providerView
	Lanes       []laneView
	OTPWait     string
	OTPSlow     bool // the oldest OTP has waited over a second
	Templates   []templateView
	TotalSMS    string
	TotalSeg    string
	DeadLetters string
	HasDead     bool
	words       webpage.Words
}

// T is the page string of key.
func (v view) T(key string) string { return v.words.Text(key) }

// Tr is the page string of key with {name}s filled from pairs.
func (v view) Tr(key string, pairs ...string) string { return v.words.Text(key, pairs...) }

type providerView struct {
	Name                    string
	Breaker, BreakerClass   string
	Since                   string
	Sent, Delivered, Failed string // in the hour
	Chart                   chart
}

type laneView struct {
	Name, Pending, Active, Scheduled, Retry, Archived, Oldest string
}

type templateView struct {
	Name, SMS, Segments string
}

// The chart's drawing area, in SVG user units; the SVG scales to the
// width of the screen (viewBox).
const (
	chartW, chartH = 600, 160
	padLeft        = 44
	padBottom      = 20
	padTop         = 8
)

// chart is one provider's hour as three polylines over a y axis.
type chart struct {
	W, H                    int
	Sent, Delivered, Failed string // polyline points
	Max, Mid                string // the axis labels
	MaxY, MidY, BaseY, Left int
	Right                   int
	Label                   string // for screen readers: the hour in words
}

func (p *Page) fill(v *view, s Snapshot) {
	v.AsOf = p.dateTime(v.words, s.At)
	for _, pr := range s.Providers {
		v.Providers = append(v.Providers, p.provider(v, pr))
	}
	for _, l := range s.Lanes {
		lv := laneView{Name: v.words.Or("lane_"+l.Name, l.Name), Pending: n(int64(l.Pending)), Active: n(int64(l.Active)),
			Scheduled: n(int64(l.Scheduled)), Retry: n(int64(l.Retry)), Archived: n(int64(l.Archived)), Oldest: wait(v, l.Oldest)}
		v.Lanes = append(v.Lanes, lv)
		if l.Name == "otp" {
			v.OTPWait, v.OTPSlow = wait(v, l.Oldest), l.Oldest > time.Second
		}
	}
	var sms, seg int64
	for _, t := range s.Templates {
		v.Templates = append(v.Templates, templateView{Name: v.words.Or("template_"+t.Template, t.Template), SMS: n(t.SMS), Segments: n(t.Segments)})
		sms, seg = sms+t.SMS, seg+t.Segments
	}
	v.TotalSMS, v.TotalSeg = n(sms), n(seg)
	v.DeadLetters, v.HasDead = n(s.DeadLetters), s.DeadLetters > 0
}

func (p *Page) provider(v *view, pr Provider) providerView {
	out := providerView{Name: pr.Name, Breaker: v.words.Or("breaker_"+pr.Breaker, pr.Breaker), BreakerClass: "breaker-" + pr.Breaker}
	if !pr.Since.IsZero() {
		out.Since = v.Tr("breaker_since", "time", p.dateTime(v.words, pr.Since))
	}
	var sent, delivered, failed int64
	for _, m := range pr.Minutes {
		sent, delivered, failed = sent+m.Sent, delivered+m.Delivered, failed+m.Failed
	}
	out.Sent, out.Delivered, out.Failed = n(sent), n(delivered), n(failed)
	out.Chart = draw(pr.Minutes)
	out.Chart.Label = v.Tr("chart_label", "provider", pr.Name, "sent", out.Sent, "delivered", out.Delivered, "failed", out.Failed)
	return out
}

// draw lays the minutes out left to right, the oldest at the left, on a
// scale from 0 to the busiest minute (at least 1).
func draw(minutes []Minute) chart {
	c := chart{W: chartW, H: chartH, Left: padLeft, Right: chartW - 4, BaseY: chartH - padBottom, MaxY: padTop}
	c.MidY = (c.BaseY + c.MaxY) / 2
	top := int64(1)
	for _, m := range minutes {
		top = max(top, m.Sent, m.Delivered, m.Failed)
	}
	c.Max, c.Mid = n(top), strconv.FormatFloat(float64(top)/2, 'f', -1, 64)
	line := func(of func(Minute) int64) string {
		var b strings.Builder
		for i, m := range minutes {
			x := c.Left
			if len(minutes) > 1 {
				x += i * (c.Right - c.Left) / (len(minutes) - 1)
			}
			y := c.BaseY - int(of(m)*int64(c.BaseY-c.MaxY)/top)
			fmt.Fprintf(&b, "%d,%d ", x, y)
		}
		return strings.TrimSpace(b.String())
	}
	c.Sent = line(func(m Minute) int64 { return m.Sent })
	c.Delivered = line(func(m Minute) int64 { return m.Delivered })
	c.Failed = line(func(m Minute) int64 { return m.Failed })
	return c
}

// wait is a queue wait in words: "0 s", "2.4 s", "3 min".
func wait(v *view, d time.Duration) string {
	switch {
	case d >= time.Minute:
		return v.Tr("minutes", "n", strconv.Itoa(int(d/time.Minute)))
	case d >= 10*time.Second:
		return v.Tr("seconds", "n", strconv.Itoa(int(d/time.Second)))
	}
	return v.Tr("seconds", "n", strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64))
}

// n writes a count with digits grouped in thousands: 12,345.
func n(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func (p *Page) dateTime(w webpage.Words, t time.Time) string { return w.DateTime(t, p.loc) }
