package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// openSpool opens this node's audit spool. The node id lives in the data dir; the spool's
// HMAC key is sealed in the database (and so rides root key rotation with everything else).
func (s *Service) openSpool(ctx context.Context, dir string, every time.Duration) error {
	if dir == "" {
		return errors.New("service: a data dir is required for the audit spool")
	}
	node, err := nodeID(dir)
	if err != nil {
		return err
	}
	key, err := s.spoolKey(ctx, node)
	if err != nil {
		return err
	}
	s.audits, err = audit.OpenSpool(ctx, s.store, audit.SpoolOptions{Dir: dir, Node: node, Key: key, Log: s.log, Every: every})
	return err
}

// nodeID reads this node's id from DIR/node-id, creating it on first use.
func nodeID(dir string) (string, error) {
	path := filepath.Join(dir, "node-id")
	b, err := os.ReadFile(path)
	if err == nil {
		if id := strings.TrimSpace(string(b)); len(id) == 16 {
			return id, nil
		}
		return "", fmt.Errorf("%s is damaged: it should hold a 16-character node id", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	r := make([]byte, 8)
	rand.Read(r)
	id := hex.EncodeToString(r)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return id, os.WriteFile(path, []byte(id+"\n"), 0o600)
}

func (s *Service) spoolKey(ctx context.Context, node string) ([]byte, error) {
	name := "sealed.audit-spool-key." + node
	var key []byte
	err := s.store.Update(ctx, func(tx keyward.Tx) error {
		blob, err := tx.GetMeta(name)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			key = make([]byte, 32)
			rand.Read(key)
			if blob, err = s.sealer.Seal(key, seal.Bind("meta", name)); err != nil {
				return err
			}
			return tx.PutMeta(name, blob)
		}
		if err != nil {
			return err
		}
		key, err = s.sealer.Open(blob, seal.Bind("meta", name))
		return err
	})
	return key, err
}
