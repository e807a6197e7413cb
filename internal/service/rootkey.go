package service

import (
	"context"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// RewrapAll re-seals every sealed value in the database under the sealer's active root key,
// in one transaction, and records the rotation in the server's audit chain. The operator
// command loads the new keyring (old and new keys) into the sealer before calling it and
// retires the old key after it returns.
func (s *Service) RewrapAll(ctx context.Context) (int, error) {
	var n int
	err := s.store.Update(ctx, func(tx keyward.Tx) error {
		var err error
		n, err = tx.RewrapSealed(func(kind, id string, blob []byte) ([]byte, error) {
			return s.sealer.Rewrap(blob, seal.Bind(kind, id))
		})
		if err != nil {
			return err
		}
		o := &op{p: keyward.Principal{Kind: keyward.KindOperator}, action: keyward.ActRootKeyRotate,
			detail: "re-sealed values under root key " + s.sealer.ActiveKeyID()}
		return audit.Append(tx, o.record(ctx, s.clock.Now(), keyward.OutcomeSuccess))
	})
	return n, err
}
