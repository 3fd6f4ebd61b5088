package gateway

import (
	"context"
	"errors"
	"fmt"

	"sandesh/store"
)

// demoData is what a newcomer finds: three centres, ten beneficiaries on
// six mobiles in all three languages, some booked for today, some with
// doses recorded in the past months.
var demoCenters = []CenterInput{
	{ID: "C1", Name: "PHC Aundh", District: "Pune", State: "Maharashtra", Pincode: "411007"},
	{ID: "C2", Name: "UPHC Kothrud", District: "Pune", State: "Maharashtra", Pincode: "411038"},
	{ID: "C3", Name: "CHC Hadapsar", District: "Pune", State: "Maharashtra", Pincode: "411028"},
}

type demoPerson struct {
	Registration
	book   string   // centre to book today, "" for none
	walkIn []string // vaccines already given, as walk-ins at C2 (pastDoseAgo)
}

var demoPeople = []demoPerson{
	{Registration: Registration{Name: "Asha Patil", Mobile: "9876500001", BirthYear: 1980, Gender: "F", Language: "mr"}, book: "C1"},
	{Registration: Registration{Name: "Suresh Patil", Mobile: "9876500001", BirthYear: 1976, Gender: "M", Language: "mr"}, walkIn: []string{"COVISHIELD"}, book: "C1"},
	{Registration: Registration{Name: "Meera Patil", Mobile: "9876500001", BirthYear: 2004, Gender: "F", Language: "mr"}, walkIn: []string{"COVISHIELD", "COVISHIELD"}},
	{Registration: Registration{Name: "रमेश कुमार", Mobile: "9876500002", BirthYear: 1965, Gender: "M", Language: "hi"}, book: "C2"},
	{Registration: Registration{Name: "सुनीता देवी", Mobile: "9876500002", BirthYear: 1968, Gender: "F", Language: "hi"}, walkIn: []string{"COVAXIN", "COVAXIN"}},
	{Registration: Registration{Name: "Priya Sharma", Mobile: "9876500003", BirthYear: 1990, Gender: "F", Language: "en"}, walkIn: []string{"CORBEVAX"}},
	{Registration: Registration{Name: "Rahul Sharma", Mobile: "9876500003", BirthYear: 1988, Gender: "M", Language: "en"}, book: "C3"},
	{Registration: Registration{Name: "विजय जाधव", Mobile: "9876500004", BirthYear: 1959, Gender: "M", Language: "mr"}, walkIn: []string{"SPUTNIK_LIGHT"}},
	{Registration: Registration{Name: "Fatima Shaikh", Mobile: "9876500005", BirthYear: 1995, Gender: "F", Language: "hi"}},
	{Registration: Registration{Name: "Joseph D'Souza", Mobile: "9876500006", BirthYear: 1950, Gender: "M", Language: "en"}, walkIn: []string{"COVISHIELD", "COVISHIELD", "COVISHIELD"}},
}

// pastDoseAgo is how many days ago dose i (from 0) of n already given
// was: the last 100 days ago, each earlier one 200 days before the next,
// so that every gap of the schedule, the precaution dose's too, has passed
// and the demo's bookings for today are open.
func pastDoseAgo(i, n int) int { return 100 + 200*(n-1-i) }

// DemoRoles are the roles a demo key is printed for.
var DemoRoles = []store.Role{store.RoleAdmin, store.RoleRegistry, store.RoleCenter, store.RoleVerifier, store.RoleSupport}

// DemoKey is a key issued for trying the gateway out.
type DemoKey struct {
	Role     store.Role
	CenterID string
	Key      string
}

// LoadDemo loads the demo data unless it is already there (it reports
// whether it loaded it), then issues one fresh key per role.
func (g *Gateway) LoadDemo(ctx context.Context) (bool, []DemoKey, error) {
	first, err := g.store.MarkOnce(ctx, "demo-data")
	if err != nil {
		return false, nil, storeErr("demo", err)
	}
	if first {
		if err := g.loadDemoData(ctx); err != nil {
			// Let the next start try again rather than keep half a demo.
			if uerr := g.store.Unmark(context.WithoutCancel(ctx), "demo-data"); uerr != nil {
				g.log.Error("demo marker not cleared", "err", uerr)
			}
			return false, nil, err
		}
	}
	var keys []DemoKey
	for _, role := range DemoRoles {
		req := KeyRequest{Role: string(role), Name: "demo " + string(role)}
		if role == store.RoleCenter {
			req.CenterID = demoCenters[0].ID
		}
		_, clear, err := g.CreateKey(ctx, req)
		if err != nil {
			return first, nil, fmt.Errorf("demo key %s: %w", role, err)
		}
		keys = append(keys, DemoKey{Role: role, CenterID: req.CenterID, Key: clear})
	}
	return first, keys, nil
}

func (g *Gateway) loadDemoData(ctx context.Context) error {
	for _, c := range demoCenters {
		if _, err := g.CreateCenter(ctx, c); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("demo centre %s: %w", c.ID, err)
		}
	}
	for _, p := range demoPeople {
		b, err := g.Register(ctx, p.Registration)
		if err != nil {
			return fmt.Errorf("demo beneficiary %s: %w", p.Name, err)
		}
		for i, vaccine := range p.walkIn {
			if _, err := g.recordDose(ctx, "C2", DoseInput{BeneficiaryID: b.ID, Vaccine: vaccine,
				Batch: fmt.Sprintf("DEMO-%d", i+1)}, g.daysAgo(pastDoseAgo(i, len(p.walkIn))), nil); err != nil {
				return fmt.Errorf("demo dose for %s: %w", p.Name, err)
			}
		}
		if p.book != "" {
			if _, err := g.Book(ctx, Booking{BeneficiaryID: b.ID, CenterID: p.book, Date: g.today(),
				Slot: "09:00-11:00", Dose: len(p.walkIn) + 1}, nil); err != nil {
				return fmt.Errorf("demo booking for %s: %w", p.Name, err)
			}
		}
	}
	return nil
}
