// Package config reads Keyward's configuration file into a typed Config with defaults.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the server configuration. The comment on each field says what its zero value
// means; Default fills them in and Validate checks the result.
type Config struct {
	// Listen is the address of the HTTPS API. Zero: 127.0.0.1:8443.
	Listen string `yaml:"listen"`
	// DataDir holds the SQLite database, the root key file and generated TLS files.
	// Zero: ./keyward-data.
	DataDir string `yaml:"data_dir"`

	Database Database `yaml:"database"`
	TLS      TLS      `yaml:"tls"`
	Seal     Seal     `yaml:"seal"`

	// SessionTTL is how long a user's login lasts. Zero: 12h.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// MaxBodyBytes bounds request bodies. Zero: 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	Log          Log   `yaml:"log"`
	Debug        Debug `yaml:"debug"`
	Jobs         Jobs  `yaml:"jobs"`
	Azure        Azure `yaml:"azure"`
}

// Azure says how Keyward reaches Azure when a group's link says nothing of its own.
type Azure struct {
	// ProxyURL sends every Azure request through this HTTP proxy (CONNECT), e.g.
	// http://proxy.corp:3128. Zero: the HTTPS_PROXY environment variable, if set.
	ProxyURL string `yaml:"proxy_url"`
	// CAFile trusts the certificates in this PEM file instead of the system roots, for a
	// proxy that inspects TLS. Zero: the system roots.
	CAFile string `yaml:"ca_file"`
}

// Debug holds tools for operators diagnosing a server.
type Debug struct {
	// PprofListen serves Go's profiler (net/http/pprof) on this loopback address, e.g.
	// 127.0.0.1:6060. Zero: off. It is never served on the API's listener.
	PprofListen string `yaml:"pprof_listen"`
}

// Database selects the store.
type Database struct {
	// Driver is "sqlite" or "postgres". Zero: sqlite.
	Driver string `yaml:"driver"`
	// Path is the SQLite file. Zero: DataDir/keyward.db.
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string; ${VAR} is replaced from the environment so the
	// password need not be written in the file.
	DSN string `yaml:"dsn"`
	// SQLiteSync is "normal" (commits survive a crash of Keyward; a power loss may lose the
	// last ones) or "full" (commits also survive a power loss; one disk flush per
	// transaction). Zero: normal.
	SQLiteSync string `yaml:"sqlite_synchronous"`
}

// TLS configures HTTPS.
type TLS struct {
	// Disable serves plain HTTP. Allowed only on a loopback listener (behind a local proxy).
	Disable bool `yaml:"disable"`
	// CertFile and KeyFile are the server's certificate chain and key (PEM). Zero: Keyward
	// generates a private CA and a server certificate in DataDir/tls and reuses them.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Hosts are extra DNS names or IPs for the generated certificate.
	Hosts []string `yaml:"hosts"`
}

// Seal says where the root key comes from.
type Seal struct {
	// KeyFile is the root keyring file. Zero: DataDir/root.key, generated on first start.
	KeyFile string `yaml:"key_file"`
	// PassphraseFile holds the passphrase protecting KeyFile; PassphraseEnv names an
	// environment variable holding it. Zero for both: the key file is not protected.
	PassphraseFile string `yaml:"passphrase_file"`
	PassphraseEnv  string `yaml:"passphrase_env"`
}

// Log configures the server log (JSON lines on stderr).
type Log struct {
	// Level is debug, info, warn or error. Zero: info.
	Level string `yaml:"level"`
	// Format is json or text. Zero: json.
	Format string `yaml:"format"`
}

// Default returns the configuration with every default filled in.
func Default() Config {
	var c Config
	c.fill()
	return c
}

func (c *Config) fill() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8443"
	}
	if c.DataDir == "" {
		c.DataDir = "keyward-data"
	}
	if c.Database.Driver == "" {
		c.Database.Driver = "sqlite"
	}
	if c.Database.SQLiteSync == "" {
		c.Database.SQLiteSync = "normal"
	}
	if c.Database.Path == "" {
		c.Database.Path = filepath.Join(c.DataDir, "keyward.db")
	}
	if c.Seal.KeyFile == "" {
		c.Seal.KeyFile = filepath.Join(c.DataDir, "root.key")
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
}

// Load reads a YAML file: unknown keys are errors, defaults fill what it leaves out, and
// ${VAR} in the database DSN is expanded from the environment.
func Load(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file is an empty config
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	c.Database.DSN = os.ExpandEnv(c.Database.DSN)
	c.fill()
	return c, c.Validate()
}

// Validate checks the configuration; every message names the key at fault.
func (c *Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("config listen: %q is not host:port", c.Listen)
	}
	if c.Database.SQLiteSync != "normal" && c.Database.SQLiteSync != "full" {
		return fmt.Errorf("config database.sqlite_synchronous: must be normal or full, not %q", c.Database.SQLiteSync)
	}
	switch c.Database.Driver {
	case "sqlite":
	case "postgres":
		if c.Database.DSN == "" {
			return errors.New("config database.dsn: required with driver postgres (e.g. postgres://keyward@db:5432/keyward)")
		}
	default:
		return fmt.Errorf("config database.driver: must be sqlite or postgres, not %q", c.Database.Driver)
	}
	if c.TLS.Disable && !isLoopback(host) {
		return fmt.Errorf("config tls.disable: plain HTTP is allowed only on a loopback listener, and listen is %s", c.Listen)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("config tls: give both cert_file and key_file, or neither")
	}
	if c.Seal.PassphraseFile != "" && c.Seal.PassphraseEnv != "" {
		return errors.New("config seal: give passphrase_file or passphrase_env, not both")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config log.level: must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		return fmt.Errorf("config log.format: must be json or text, not %q", c.Log.Format)
	}
	if c.Debug.PprofListen != "" {
		h, _, err := net.SplitHostPort(c.Debug.PprofListen)
		if err != nil || !isLoopback(h) {
			return fmt.Errorf("config debug.pprof_listen: must be a loopback host:port such as 127.0.0.1:6060, not %q", c.Debug.PprofListen)
		}
	}
	if c.SessionTTL < time.Minute {
		return errors.New("config session_ttl: must be at least 1m")
	}
	if err := c.Azure.validate(); err != nil {
		return err
	}
	return c.Jobs.validate()
}

func (a Azure) validate() error {
	if a.ProxyURL != "" {
		u, err := url.Parse(a.ProxyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("config azure.proxy_url: must be an http:// or https:// URL such as http://proxy:3128, not %q", a.ProxyURL)
		}
	}
	if a.CAFile != "" {
		if _, err := os.Stat(a.CAFile); err != nil {
			return fmt.Errorf("config azure.ca_file: %w", err)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Passphrase returns the root key passphrase the configuration points at, or nil.
func (c *Config) Passphrase() ([]byte, error) {
	switch {
	case c.Seal.PassphraseFile != "":
		b, err := os.ReadFile(c.Seal.PassphraseFile)
		if err != nil {
			return nil, fmt.Errorf("config seal.passphrase_file: %w", err)
		}
		return bytes.TrimRight(b, "\r\n"), nil
	case c.Seal.PassphraseEnv != "":
		v := os.Getenv(c.Seal.PassphraseEnv)
		if v == "" {
			return nil, fmt.Errorf("config seal.passphrase_env: $%s is empty", c.Seal.PassphraseEnv)
		}
		return []byte(v), nil
	}
	return nil, nil
}
