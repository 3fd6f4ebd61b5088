package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// MobilePrefs is what a mobile's owner chose by keyword or USSD.
type MobilePrefs struct {
	Language string // "" when never chosen
	OptedOut bool   // no non-essential (bulk) messages
}

// MobilePrefs loads a mobile's choices; a mobile that never chose has zero prefs.
func (s *Store) MobilePrefs(ctx context.Context, mobile string) (MobilePrefs, error) {
	vals, err := s.rdb.HMGet(ctx, s.mobileKey(mobile), "lang", "opted_out").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return MobilePrefs{}, fmt.Errorf("mobile prefs: %w", err)
	}
	var p MobilePrefs
	p.Language, _ = vals[0].(string)
	out, _ := vals[1].(string)
	p.OptedOut = out != "" && out != "0"
	return p, nil
}

// SetMobileLanguage remembers the language replies to mobile are written in.
func (s *Store) SetMobileLanguage(ctx context.Context, mobile, lang string) error {
	if err := s.rdb.HSet(ctx, s.mobileKey(mobile), "lang", lang).Err(); err != nil {
		return fmt.Errorf("set mobile language: %w", err)
	}
	return nil
}

// SetOptedOut records a STOP (true) or START (false) for mobile.
func (s *Store) SetOptedOut(ctx context.Context, mobile string, out bool) error {
	v := "0"
	if out {
		v = fmt.Sprint(s.now().UnixMilli())
	}
	if err := s.rdb.HSet(ctx, s.mobileKey(mobile), "opted_out", v).Err(); err != nil {
		return fmt.Errorf("set opt-out: %w", err)
	}
	return nil
}
