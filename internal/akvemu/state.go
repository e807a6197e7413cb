package akvemu

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The state file keeps everything a restart must not lose: the CA (so clients keep
// trusting it), the signing and backup keys (so tokens and backups stay valid), the
// directory, the vaults and every key with its material. It is written atomically with
// mode 0600, a short while after changes (debounced), and once more on Close.

const stateVersion = 1

type stateFile struct {
	Version       int                  `json:"version"`
	CACert        []byte               `json:"caCert"`
	CAKey         []byte               `json:"caKey"`
	TokenKey      []byte               `json:"tokenKey"`
	HSMKey        []byte               `json:"hsmKey"`
	HSMCert       []byte               `json:"hsmCert"`
	BackupKey     []byte               `json:"backupKey"`
	Tenants       []TenantConfig       `json:"tenants"`
	Subscriptions []SubscriptionConfig `json:"subscriptions"`
	Vaults        []vaultState         `json:"vaults"`
}

type vaultState struct {
	Vault   *VaultConfig    `json:"vault,omitempty"`
	HSM     *HSMConfig      `json:"hsm,omitempty"`
	Created time.Time       `json:"created"`
	Keys    json.RawMessage `json:"keys"`
	Deleted json.RawMessage `json:"deleted"`
}

// snapshot serialises the whole state, taking each vault's lock in turn.
func (e *Emulator) snapshot() ([]byte, error) {
	caKey, err := x509.MarshalPKCS8PrivateKey(e.ca.key)
	if err != nil {
		return nil, err
	}
	tokKey, err := x509.MarshalPKCS8PrivateKey(e.signer.key)
	if err != nil {
		return nil, err
	}
	hsmKey, err := x509.MarshalPKCS8PrivateKey(e.hsm.key)
	if err != nil {
		return nil, err
	}
	s := stateFile{Version: stateVersion, CACert: e.ca.cert.Raw, CAKey: caKey, TokenKey: tokKey, HSMKey: hsmKey,
		HSMCert: e.hsm.cert, BackupKey: e.backupKey}
	for _, t := range e.reg.tenantsList() {
		tc := TenantConfig{ID: t.id, Cloud: t.cloud.name, Domains: t.domains}
		e.reg.mu.RLock()
		for _, a := range t.apps {
			tc.Apps = append(tc.Apps, a.cfg)
		}
		e.reg.mu.RUnlock()
		s.Tenants = append(s.Tenants, tc)
	}
	for _, sub := range e.reg.subscriptions() {
		s.Subscriptions = append(s.Subscriptions, sub.cfg)
	}
	for _, v := range e.reg.allVaults() {
		vs, err := v.state()
		if err != nil {
			return nil, err
		}
		s.Vaults = append(s.Vaults, vs)
	}
	return json.Marshal(s)
}

func (v *vault) state() (vaultState, error) {
	vs := vaultState{Created: v.created}
	if v.kind == kindHSM {
		c := v.hsmConfig()
		vs.HSM = &c
	} else {
		c := v.vaultConfig()
		vs.Vault = &c
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	keys := make([]*keyEntry, 0, len(v.keys))
	for _, k := range v.keys {
		keys = append(keys, k)
	}
	deleted := make([]*deletedKey, 0, len(v.deleted))
	for _, d := range v.deleted {
		deleted = append(deleted, d)
	}
	var err error
	if vs.Keys, err = json.Marshal(keys); err != nil {
		return vs, err
	}
	vs.Deleted, err = json.Marshal(deleted)
	return vs, err
}

// loadState restores the state file, if configured and present.
func (e *Emulator) loadState() (bool, error) {
	if e.statePath == "" {
		return false, nil
	}
	b, err := os.ReadFile(e.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return false, fmt.Errorf("parse state %s: %w", e.statePath, err)
	}
	if s.Version != stateVersion {
		return false, fmt.Errorf("state %s: unsupported version %d", e.statePath, s.Version)
	}
	if err := e.restoreSecrets(&s); err != nil {
		return false, fmt.Errorf("state %s: %w", e.statePath, err)
	}
	for _, t := range s.Tenants {
		if err := e.reg.addTenant(t); err != nil {
			return false, fmt.Errorf("state: %w", err)
		}
	}
	for _, sc := range s.Subscriptions {
		if err := e.reg.addSubscription(sc); err != nil {
			return false, fmt.Errorf("state: %w", err)
		}
	}
	for _, vs := range s.Vaults {
		if err := e.restoreVault(vs); err != nil {
			return false, fmt.Errorf("state: %w", err)
		}
	}
	return true, nil
}

func (e *Emulator) restoreSecrets(s *stateFile) error {
	caKey, err := x509.ParsePKCS8PrivateKey(s.CAKey)
	if err != nil {
		return fmt.Errorf("ca key: %w", err)
	}
	ecKey, ok := caKey.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("ca key is not ECDSA")
	}
	if e.ca, err = loadAuthority(s.CACert, ecKey, time.Now); err != nil {
		return err
	}
	tok, err := x509.ParsePKCS8PrivateKey(s.TokenKey)
	rsaTok, ok := tok.(*rsa.PrivateKey)
	if err != nil || !ok {
		return errors.New("token key is not RSA")
	}
	e.signer = tokenSigner{key: rsaTok, kid: keyThumbprint(&rsaTok.PublicKey)}
	hsm, err := x509.ParsePKCS8PrivateKey(s.HSMKey)
	rsaHSM, ok := hsm.(*rsa.PrivateKey)
	if err != nil || !ok {
		return errors.New("hsm signing key is not RSA")
	}
	e.hsm = hsmSigner{key: rsaHSM, cert: s.HSMCert}
	if len(s.BackupKey) != 32 {
		return errors.New("backup key must be 32 bytes")
	}
	e.backupKey = s.BackupKey
	return nil
}

func (e *Emulator) restoreVault(vs vaultState) error {
	var v *vault
	switch {
	case vs.Vault != nil:
		sub := e.reg.subscription(vs.Vault.Subscription)
		if sub == nil {
			return fmt.Errorf("vault %s: unknown subscription", vs.Vault.Name)
		}
		v = newVaultFromConfig(*vs.Vault, sub, vs.Created)
	case vs.HSM != nil:
		sub := e.reg.subscription(vs.HSM.Subscription)
		if sub == nil {
			return fmt.Errorf("managed hsm %s: unknown subscription", vs.HSM.Name)
		}
		v = newHSMFromConfig(*vs.HSM, sub, vs.Created)
	default:
		return errors.New("vault entry without configuration")
	}
	var keys []*keyEntry
	var deleted []*deletedKey
	if err := json.Unmarshal(vs.Keys, &keys); err != nil {
		return fmt.Errorf("%s keys: %w", v.name, err)
	}
	if err := json.Unmarshal(vs.Deleted, &deleted); err != nil {
		return fmt.Errorf("%s deleted keys: %w", v.name, err)
	}
	for _, k := range keys {
		if len(k.Versions) == 0 {
			return fmt.Errorf("%s: key %s has no versions", v.name, k.Name)
		}
		v.addKey(k)
	}
	for _, d := range deleted {
		if d.Entry == nil || len(d.Entry.Versions) == 0 {
			return fmt.Errorf("%s: malformed deleted key", v.name)
		}
		v.deleted[strings.ToLower(d.Entry.Name)] = d
		if d.Entry.Policy != nil {
			v.policied[strings.ToLower(d.Entry.Name)] = true
		}
	}
	return e.reg.addVault(v)
}

// writeFileAtomic writes data to path through a temporary file in the same directory, so
// a crash leaves the old state or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".akvemu-state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// persister saves the state shortly after changes, coalescing bursts.
type persister struct {
	e       *Emulator
	kick    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	delay   time.Duration

	mu      sync.Mutex
	lastErr error
}

func newPersister(e *Emulator) *persister {
	p := &persister{e: e, kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
		delay: 200 * time.Millisecond}
	go p.loop()
	return p
}

func (p *persister) markDirty() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *persister) loop() {
	defer close(p.stopped)
	for {
		select {
		case <-p.kick:
			t := time.NewTimer(p.delay)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
			}
			p.save()
		case <-p.done:
			select {
			case <-p.kick:
				p.save()
			default:
			}
			return
		}
	}
}

func (p *persister) save() {
	data, err := p.e.snapshot()
	if err == nil {
		err = writeFileAtomic(p.e.statePath, data)
	}
	if err != nil {
		p.e.log.Error("saving emulator state failed", "path", p.e.statePath, "err", err)
	}
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// stop saves a last time and ends the loop; it returns the last save's error.
func (p *persister) stop() error {
	p.markDirty()
	close(p.done)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}
