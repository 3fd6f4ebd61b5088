package store

import (
	"context"
	"errors"
	"testing"
)

func TestCheckLayout(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		keys map[string]string // written before the check
		want error
	}{
		{"empty", nil, nil},
		{"this layout", map[string]string{"sandesh:layout": "2", "sandesh:ben:{c123}:12345678901234": "x"}, nil},
		{"records of this layout only", map[string]string{"sandesh:ben:{c123}:12345678901234": "x", "sandesh:apikeys:{keys}": "x"}, nil},
		{"api keys of the earlier layout", map[string]string{"sandesh:apikeys": "x"}, ErrEarlierLayout},
		{"another layout named", map[string]string{"sandesh:layout": "1"}, ErrEarlierLayout},
		{"a record without a tag", map[string]string{"sandesh:ben:12345678901234": "x"}, ErrEarlierLayout},
		{"a mobile without a tag", map[string]string{"sandesh:mobile:+919876543210": "x"}, ErrEarlierLayout},
		{"one pending set", map[string]string{"sandesh:msgs:pending": "x"}, ErrEarlierLayout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			for k, v := range tc.keys {
				if err := s.rdb.Set(ctx, k, v, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				if err := s.CheckLayout(ctx); !errors.Is(err, tc.want) {
					t.Fatalf("CheckLayout = %v, want %v", err, tc.want)
				}
			}
			if tc.want == nil && s.rdb.Get(ctx, "sandesh:layout").Val() != layoutVersion {
				t.Error("the store is not marked with this layout")
			}
		})
	}
}
