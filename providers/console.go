package providers

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Console prints each message instead of sending it: the development default,
// where the terminal plays the citizen's phone.
type Console struct {
	name string
	mu   sync.Mutex
	out  io.Writer
}

// NewConsole writes messages to out.
func NewConsole(name string, out io.Writer) *Console {
	return &Console{name: name, out: out}
}

// Name is the configured provider name.
func (c *Console) Name() string { return c.name }

// Send prints m and accepts it.
func (c *Console) Send(ctx context.Context, m Outbound) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, TemporaryError(c.name, "cancelled", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := fmt.Fprintf(c.out, "── SMS to %s (%s, %d segment(s), message %s)\n%s\n\n",
		m.To, m.Encoding, m.Segments, m.MessageID, m.Body); err != nil {
		return Receipt{}, TemporaryError(c.name, "write", err)
	}
	return Receipt{Provider: c.name, ProviderMessageID: "console-" + m.MessageID}, nil
}
