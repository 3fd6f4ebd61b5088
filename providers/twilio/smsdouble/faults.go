package smsdouble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// DefaultHang is how long a request picked for a timeout goes unanswered
// when Faults.Hang is not set.
const DefaultHang = 30 * time.Second

// Faults is how the double misbehaves. Shares are fractions of create
// requests from 0 to 1; Error500, Error429 and Timeout split the requests
// between them, so their sum is at most 1.
type Faults struct {
	Down        bool          // outage: every create request gets 503 (Twilio 20503) at once
	Latency     time.Duration // wait before answering a create request
	Jitter      time.Duration // plus a uniform random wait in [0, Jitter)
	Error500    float64       // share answered 500 (Twilio 20500)
	Error429    float64       // share answered 429 (Twilio 20429) with Retry-After: 1
	Timeout     float64       // share left unanswered for Hang, or until the client gives up
	Hang        time.Duration // > 0
	Undelivered float64       // share of accepted messages whose last callback is undelivered (30003)
}

// Validate reports the first setting out of range.
func (f Faults) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"latency", f.Latency}, {"jitter", f.Jitter}} {
		if d.v < 0 {
			return fmt.Errorf("%s %v is negative", d.name, d.v)
		}
	}
	if f.Hang <= 0 {
		return fmt.Errorf("hang %v must be positive", f.Hang)
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"error_500", f.Error500}, {"error_429", f.Error429}, {"timeout", f.Timeout}, {"undelivered", f.Undelivered}} {
		if !(s.v >= 0 && s.v <= 1) { // also refuses NaN
			return fmt.Errorf("%s %v is not a share from 0 to 1", s.name, s.v)
		}
	}
	if sum := f.Error500 + f.Error429 + f.Timeout; sum > 1+1e-9 {
		return fmt.Errorf("error_500 + error_429 + timeout = %v, more than 1", sum)
	}
	return nil
}

// fault is what one create request gets instead of being accepted.
type fault uint8

const (
	faultNone fault = iota
	fault500
	fault429
	faultTimeout
)

// draw picks the fault for one create request.
func (f *Faults) draw() fault {
	if f.Error500 == 0 && f.Error429 == 0 && f.Timeout == 0 {
		return faultNone
	}
	u := rand.Float64()
	switch {
	case u < f.Error500:
		return fault500
	case u < f.Error500+f.Error429:
		return fault429
	case u < f.Error500+f.Error429+f.Timeout:
		return faultTimeout
	}
	return faultNone
}

// delay is the latency plus jitter for one create request.
func (f *Faults) delay() time.Duration {
	d := f.Latency
	if f.Jitter > 0 {
		d += rand.N(f.Jitter)
	}
	return d
}

// undelivered decides whether one accepted message ends undelivered.
func (f *Faults) undelivered() bool {
	return f.Undelivered > 0 && rand.Float64() < f.Undelivered
}

// control is Faults as /control reads and writes it. On POST absent fields
// keep their value.
type control struct {
	State       *string   `json:"state"` // "up" | "down"
	Latency     *duration `json:"latency"`
	Jitter      *duration `json:"jitter"`
	Error500    *float64  `json:"error_500"`
	Error429    *float64  `json:"error_429"`
	Timeout     *float64  `json:"timeout"`
	Hang        *duration `json:"hang"`
	Undelivered *float64  `json:"undelivered"`
}

// duration is a time.Duration written as in Go ("20ms", "1.5s").
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`durations are strings like "20ms"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// controlOf points the fields of a control at f's: encoding it writes f,
// decoding JSON into it changes the fields of f the JSON names.
func controlOf(f *Faults) control {
	state := "up"
	if f.Down {
		state = "down"
	}
	return control{
		State:       &state,
		Latency:     (*duration)(&f.Latency),
		Jitter:      (*duration)(&f.Jitter),
		Error500:    &f.Error500,
		Error429:    &f.Error429,
		Timeout:     &f.Timeout,
		Hang:        (*duration)(&f.Hang),
		Undelivered: &f.Undelivered,
	}
}

// applyControl returns f changed by the fields the JSON object body names,
// or an error that says what is wrong with body.
func applyControl(f Faults, body []byte) (Faults, error) {
	c := controlOf(&f)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Faults{}, fmt.Errorf("body is not a control object: %w", err)
	}
	if dec.More() {
		return Faults{}, errors.New("body has more than one JSON value")
	}
	if c.State != nil { // nil after "state":null
		switch *c.State {
		case "up":
			f.Down = false
		case "down":
			f.Down = true
		default:
			return Faults{}, fmt.Errorf(`state %q is neither "up" nor "down"`, *c.State)
		}
	}
	return f, f.Validate()
}
