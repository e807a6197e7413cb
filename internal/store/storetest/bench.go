package storetest

import (
	"fmt"
	"testing"

	"github.com/keyward/keyward/internal/keyward"
)

// BenchListObjects measures object listings in an account of 100,000 objects spread over
// ten groups, by the filters the API offers. Each engine's package runs it; settle, when
// not nil, runs after the objects are written (PostgreSQL gathers planner statistics, as
// autovacuum would on a live database).
func BenchListObjects(b *testing.B, s keyward.Store, settle func()) {
	const total, groups = 100_000, 10
	sd := seed(b, s, "bench")
	gids := []string{sd.group.ID}
	if err := s.Update(ctx, func(tx keyward.Tx) error {
		for i := 1; i < groups; i++ {
			g := &keyward.Group{ID: fmt.Sprintf("bench-g%d", i), AccountID: sd.acct.ID, Name: fmt.Sprintf("g%d", i), CreatedAt: now}
			if err := tx.CreateGroup(g); err != nil {
				return err
			}
			gids = append(gids, g.ID)
		}
		types := []keyward.ObjectType{keyward.TypeAES, keyward.TypeRSA, keyward.TypeEC, keyward.TypeHMAC}
		for i := range total {
			o := newObject(sd, fmt.Sprintf("o%06d", i), fmt.Sprintf("key-%06d", i), types[i%4], keyward.StateActive)
			o.GroupID = gids[i%groups]
			o.Tags = map[string]string{"env": []string{"prod", "dev", "test"}[i%3], "team": fmt.Sprint("t", i%50)}
			if i%7 == 0 {
				o.State = keyward.StateDeactivated
			}
			if err := tx.CreateObject(o, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if settle != nil {
		settle()
	}
	cases := []struct {
		name string
		f    keyward.ObjectFilter
	}{
		{"first page", keyward.ObjectFilter{}},
		{"deep page", keyward.ObjectFilter{Page: keyward.Page{After: "key-090000"}}},
		{"one group", keyward.ObjectFilter{GroupIDs: []string{gids[3]}}},
		{"member of three groups", keyward.ObjectFilter{GroupIDs: gids[2:5]}},
		{"type", keyward.ObjectFilter{Type: keyward.TypeEC}},
		{"state", keyward.ObjectFilter{State: keyward.StateDeactivated}},
		{"tag", keyward.ObjectFilter{Tag: "team=t17"}},
		{"name prefix", keyward.ObjectFilter{NamePrefix: "key-0555"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			c.f.AccountID, c.f.Now = sd.acct.ID, now
			for b.Loop() {
				if err := s.View(ctx, func(tx keyward.Tx) error {
					got, err := tx.ListObjects(c.f)
					if err == nil && len(got) == 0 {
						err = fmt.Errorf("%s: empty page", c.name)
					}
					return err
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
