package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"

	"sandesh/gateway/pages/dashboard"
	"sandesh/gateway/pages/support"
	"sandesh/jobs"
	"sandesh/store"
)

// mountDashboard serves the dashboard at /admin behind the admin key
// (Basic auth in a browser, like /admin/queues), and at /support/dashboard
// to an administrator signed in to the helpline console.
func (s *server) mountDashboard(app *fiber.App) {
	for path, guard := range map[string]fiber.Handler{"/admin": s.adminOnly, "/support/dashboard": s.consoleAdmin} {
		page, err := dashboard.New(dashboardBackend{s}, dashboard.Options{Languages: s.gw.languages,
			SecureCookies: strings.HasPrefix(s.opts.PublicURL, "https://"), Location: s.gw.location, Path: path})
		if err != nil {
			// The page's templates are embedded: this is a build defect.
			panic(fmt.Sprintf("dashboard page: %v", err))
		}
		page.Mount(app, guard)
	}
}

// consoleAdmin lets in an administrator's console session; anyone else
// goes to the console, which asks them to sign in (or shows their search).
func (s *server) consoleAdmin(c *fiber.Ctx) error {
	staff, err := consoleBackend{s}.Session(c.UserContext(), c.Cookies(support.SessionCookie))
	if err != nil || !staff.Admin {
		return c.Redirect("/support", http.StatusSeeOther)
	}
	return c.Next()
}

// dashboardMinutes is how far back the dashboard's charts go.
const dashboardMinutes = 60

// dashboardBackend reads what /admin shows: the shared counts (stats),
// the breakers, the queues and the dead letters.
type dashboardBackend struct{ s *server }

func (b dashboardBackend) Snapshot(ctx context.Context) (dashboard.Snapshot, error) {
	snap := dashboard.Snapshot{At: b.s.gw.now()}
	st := b.s.opts.Stats
	minutes, err := st.LastMinutes(ctx, dashboardMinutes)
	if err != nil {
		return snap, err
	}
	changes, err := st.BreakerChanges(ctx)
	if err != nil {
		return snap, err
	}
	var names []string
	states := map[string]string{}
	if r := b.s.opts.Breakers; r != nil {
		for _, bs := range r.States(ctx) {
			names = append(names, bs.Provider)
			states[bs.Provider] = bs.State
		}
	}
	for name := range minutes {
		if !slices.Contains(names, name) {
			names = append(names, name) // a provider since removed from the config
		}
	}
	for _, name := range names {
		p := dashboard.Provider{Name: name, Breaker: states[name], Since: changes[name].At}
		if p.Breaker == "" {
			p.Breaker = "closed"
		}
		ms := minutes[name]
		if ms == nil {
			ms = st.EmptyMinutes(dashboardMinutes)
		}
		for _, m := range ms {
			p.Minutes = append(p.Minutes, dashboard.Minute{Start: m.Start, Sent: m.Counts[string(store.StatusSent)],
				Delivered: m.Counts[string(store.StatusDelivered)],
				Failed:    m.Counts[string(store.StatusFailed)] + m.Counts[string(store.StatusUndelivered)]})
		}
		snap.Providers = append(snap.Providers, p)
	}
	if b.s.opts.Queues != nil {
		lanes, err := lanes(asynq.NewInspector(b.s.opts.Queues), b.s.opts.LaneQueues)
		if err != nil {
			return snap, err
		}
		snap.Lanes = lanes
	}
	days, err := st.Today(ctx)
	if err != nil {
		return snap, err
	}
	for _, d := range days {
		snap.Templates = append(snap.Templates, dashboard.TemplateDay{Template: d.Template, SMS: d.SMS, Segments: d.Segments})
	}
	if snap.DeadLetters, err = b.s.gw.store.DeadLetterCount(ctx); err != nil {
		return snap, err
	}
	return snap, nil
}

// lanes is every lane's queue as the dashboard shows it.
func lanes(in *asynq.Inspector, qs jobs.Queues) ([]dashboard.Lane, error) {
	infos, err := laneQueues(in, qs)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.Lane, 0, len(infos))
	for _, info := range infos {
		out = append(out, dashboard.Lane{Name: info.Queue, Pending: info.Pending, Active: info.Active,
			Scheduled: info.Scheduled, Retry: info.Retry, Archived: info.Archived, Oldest: info.Latency})
	}
	return out, nil
}
