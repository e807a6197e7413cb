package service

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// vaultCache holds the connector's clients of linked vaults, by group, so that jobs of a
// group share one client (and its counts). Changing a link or a credential empties it.
type vaultCache struct {
	mu sync.Mutex
	m  map[string]keyward.CloudVault
}

func (c *vaultCache) get(group string) keyward.CloudVault {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[group]
}

func (c *vaultCache) put(group string, v keyward.CloudVault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]keyward.CloudVault{}
	}
	c.m[group] = v
}

func (c *vaultCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// cloudConnector returns the connector, or an error saying Azure is not configured.
func (s *Service) cloudConnector() (keyward.CloudConnector, error) {
	if s.cloud == nil {
		return nil, keyward.Errorf(keyward.ENOTSUPPORTED, "this server has no Azure connector")
	}
	return s.cloud, nil
}

// vaultOf opens (or reuses) the client of a group's linked vault. The credential's secret
// and the link's TLS key are unsealed here and handed only to the connector.
func (s *Service) vaultOf(ctx context.Context, accountID, groupID string) (keyward.CloudVault, *keyward.AzureLink, error) {
	conn, err := s.cloudConnector()
	if err != nil {
		return nil, nil, err
	}
	var link *keyward.AzureLink
	var v keyward.CloudVault
	err = s.store.View(ctx, func(tx keyward.Tx) error {
		var err error
		if link, err = tx.GetAzureLink(accountID, groupID); err != nil {
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				return keyward.Errorf(keyward.EPRECONDITION, "the group is not linked to Azure")
			}
			return err
		}
		if v = s.vaults.get(groupID); v != nil {
			return nil
		}
		cred, err := tx.GetCloudCredential(accountID, link.CredentialID)
		if err != nil {
			return err
		}
		sec, err := s.openCloudSecret(tx, cred)
		if err != nil {
			return err
		}
		tlsKey, err := s.linkTLSKey(tx, link)
		if err != nil {
			return err
		}
		defer clear(tlsKey)
		opened := *link
		if opened.TLS == (keyward.TLSSettings{}) {
			opened.TLS = s.defaultTLS // a link that says nothing reaches Azure the server's way
		}
		if v, err = conn.Open(cred, sec, &opened, tlsKey); err != nil {
			return err
		}
		s.vaults.put(groupID, v)
		return nil
	})
	return v, link, err
}

// linkTLSKey unseals a link's TLS client key, or returns nil when it has none.
func (s *Service) linkTLSKey(tx keyward.Tx, l *keyward.AzureLink) ([]byte, error) {
	blob, err := tx.AzureLinkTLSKey(l.AccountID, l.GroupID)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.sealer.Open(blob, seal.Bind("azure-tls-key", l.GroupID))
}

// jobErr tells the job runner what to do with an error from Azure: wait as long as Azure
// asked and retry when it was throttled or unavailable; give up at once when retrying
// cannot help (refused, not found, invalid, a conflict the job does not resolve).
func jobErr(err error) error {
	if err == nil {
		return nil
	}
	switch keyward.ErrorCode(err) {
	case keyward.ERATELIMIT, keyward.EUNAVAILABLE, keyward.EINTERNAL:
		if d := keyward.RetryAfter(err); d > 0 {
			return jobs.RetryAfter(err, d)
		}
		return err
	}
	return jobs.Permanent(err)
}

// waitJob waits until a job ends, for use cases that answer at once with a job's result
// (testing a connection), and returns it.
func (s *Service) waitJob(ctx context.Context, accountID, id string, limit time.Duration) (*keyward.Job, error) {
	deadline := time.Now().Add(limit)
	delay := 10 * time.Millisecond
	for {
		var j *keyward.Job
		err := s.store.View(ctx, func(tx keyward.Tx) error {
			var err error
			j, err = tx.GetJob(accountID, id)
			return err
		})
		if err != nil {
			return nil, err
		}
		if j.State.Ended() {
			return j, nil
		}
		if time.Now().After(deadline) {
			return j, keyward.Errorf(keyward.EUNAVAILABLE, "job %s is still %s after %s: follow it with keyward job watch %s", id, j.State, limit, id)
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// jobResult decodes a finished job's result, or returns its failure as an error.
func jobResult(j *keyward.Job, v any) error {
	if j.State != keyward.JobSucceeded {
		return keyward.Errorf(keyward.EUNAVAILABLE, "job %s %s: %s", j.ID, j.State, j.Error)
	}
	if v == nil || len(j.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(j.Result, v); err != nil {
		return fmt.Errorf("job %s result: %w", j.ID, err)
	}
	return nil
}
