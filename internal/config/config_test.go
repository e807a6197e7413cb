package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "k.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(write(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8443" || c.Database.Driver != "sqlite" || c.Database.Path != filepath.Join("keyward-data", "keyward.db") ||
		c.SessionTTL != 12*time.Hour || c.Seal.KeyFile != filepath.Join("keyward-data", "root.key") {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadPostgresWithEnv(t *testing.T) {
	t.Setenv("KW_DSN_PW", "s3cret")
	c, err := Load(write(t, "listen: 0.0.0.0:8443\ndata_dir: /d\nsession_ttl: 30m\ndatabase:\n  driver: postgres\n  dsn: postgres://kw:${KW_DSN_PW}@db/kw\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.DSN != "postgres://kw:s3cret@db/kw" || c.SessionTTL != 30*time.Minute || c.Database.Path != "/d/keyward.db" {
		t.Fatalf("%+v", c)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	for body, want := range map[string]string{
		"listen: nonsense\n":                                 "listen",
		"database:\n  driver: mysql\n":                       "database.driver",
		"database:\n  driver: postgres\n":                    "database.dsn",
		"listen: 0.0.0.0:8443\ntls:\n  disable: true\n":      "tls.disable",
		"tls:\n  cert_file: a.pem\n":                         "tls",
		"log:\n  level: loud\n":                              "log.level",
		"colour: blue\n":                                     "colour",
		"session_ttl: 5s\n":                                  "session_ttl",
		"seal:\n  passphrase_file: a\n  passphrase_env: B\n": "seal",
		"azure:\n  proxy_url: proxy:3128\n":                  "azure.proxy_url",
		"azure:\n  proxy_url: ftp://proxy:21\n":              "azure.proxy_url",
		"azure:\n  ca_file: /nonexistent/ca.pem\n":           "azure.ca_file",
	} {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to name %q", body, err, want)
		}
	}
	if _, err := Load(write(t, "listen: 127.0.0.1:8080\ntls:\n  disable: true\n")); err != nil {
		t.Errorf("plain HTTP on loopback: %v", err)
	}
	c, err := Load(write(t, "azure:\n  proxy_url: http://proxy.corp:3128\n"))
	if err != nil || c.Azure.ProxyURL != "http://proxy.corp:3128" {
		t.Errorf("azure.proxy_url: %+v, %v", c, err)
	}
}

func TestPassphrase(t *testing.T) {
	t.Setenv("KW_PASS", "from env")
	c := Default()
	c.Seal.PassphraseEnv = "KW_PASS"
	if p, err := c.Passphrase(); err != nil || string(p) != "from env" {
		t.Fatalf("env: %q %v", p, err)
	}
	f := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(f, []byte("from file\n"), 0o600)
	c.Seal.PassphraseEnv, c.Seal.PassphraseFile = "", f
	if p, err := c.Passphrase(); err != nil || string(p) != "from file" {
		t.Fatalf("file: %q %v", p, err)
	}
}
