package e2e

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

// linkAll links one group to each vault of the world, through the API, and returns their
// names by vault.
func linkAll(t *testing.T, admin *client.Client, w *putWorld) map[string]string {
	t.Helper()
	_, err := admin.CreateCloudCredential(ctx, api.CloudCredentialInput{Name: "azure", TenantID: e2eTenant, ClientID: e2eApp,
		SubscriptionID: e2eSub, ClientSecret: e2eSecret})
	apptest.Check(t, err)
	groups := map[string]string{}
	for vault, kind := range map[string]string{"kw-std": "standard", "kw-prem": "premium", "kw-hsm": "managed-hsm"} {
		name := "az-" + kind
		_, err := admin.CreateGroup(ctx, api.GroupCreate{Name: name})
		apptest.Check(t, err)
		l, err := admin.LinkGroup(ctx, name, api.AzureLinkInput{Credential: "azure", VaultKind: kind, Vault: vault,
			TLS: &api.TLSSettings{ProxyURL: w.tls.ProxyURL, CACertPEM: w.tls.CACertPEM}})
		if err != nil || l.Status != "connected" {
			t.Fatalf("link %s: %+v %v", vault, l, err)
		}
		groups[vault] = name
	}
	return groups
}

// The three ways into Azure through the CLI, on the real server: tables, -o json, --wait,
// refusals that name the field, and the links on both keys.
func TestAzureKeyCLI(t *testing.T) {
	w := startPutWorld(t)
	env := apptest.Start(t, fastJobs)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	tok := admin.Token()
	linkAll(t, admin, w)

	out, code := runCLI(t, env, tok, "azure", "key", "--help")
	if code != 0 || !strings.Contains(out, "Managed HSM      RSA-HSM, EC-HSM and AES") || !strings.Contains(out, "copy") {
		t.Fatalf("azure key --help: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "create", "signing-2027", "--group", "az-premium", "--type", "RSA", "--size", "3072", "--ops", "sign,verify", "--wait")
	if code != 0 || !strings.Contains(out, "AZURE NAME") || !strings.Contains(out, "RSA-HSM") || !strings.Contains(out, "signing-2027") {
		t.Fatalf("azure key create: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "key", "show", "signing-2027")
	if code != 0 || !strings.Contains(out, "AZURE VAULT") || !strings.Contains(out, "kw-prem") || !strings.Contains(out, "RSA-HSM") {
		t.Fatalf("key show of a virtual key: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "create", "nope", "--group", "az-standard", "--type", "RSA", "--protection", "hsm")
	if code != 1 || !strings.Contains(out, "protection") || !strings.Contains(out, "software-protected keys only") {
		t.Fatalf("HSM on Standard: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "create", "aes", "--group", "az-premium", "--type", "AES")
	if code != 1 || !strings.Contains(out, "type") || !strings.Contains(out, "Managed HSM") {
		t.Fatalf("AES on Premium: %d\n%s", code, out)
	}

	// Import a hex AES key file into the Managed HSM (BYOK), and get the job as JSON.
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	file := filepath.Join(t.TempDir(), "aes.hex")
	apptest.Check(t, os.WriteFile(file, []byte(hex.EncodeToString(raw)), 0o600))
	out, code = runCLI(t, env, tok, "-o", "json", "azure", "key", "import", "data-aes", "--group", "az-managed-hsm", "--file", file, "--format", "hex", "--type", "AES", "--wait")
	var j api.Job
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.State != "succeeded" {
		t.Fatalf("azure key import -o json --wait: %d\n%s", code, out)
	}
	res, err := client.AzureKeyPutResult(&j)
	if err != nil || !res.BYOK || res.KeyType != "oct-HSM" || res.KEKsRemoved != 1 {
		t.Fatalf("import result %+v %v", res, err)
	}
	if strings.Contains(out, hex.EncodeToString(raw)) {
		t.Fatal("the job shows the key material")
	}

	// Copy a Keyward key: first a key without EXPORT, then one with it, twice.
	_, err = admin.CreateGroup(ctx, api.GroupCreate{Name: "keys"})
	apptest.Check(t, err)
	_, code = runCLI(t, env, tok, "key", "create", "locked", "--group", "keys", "--type", "EC", "--curve", "P-256", "--ops", "SIGN,VERIFY")
	if code != 0 {
		t.Fatal("key create locked")
	}
	out, code = runCLI(t, env, tok, "azure", "key", "copy", "locked", "--group", "az-standard")
	if code != 1 || !strings.Contains(out, "EXPORT") {
		t.Fatalf("copy without EXPORT: %d\n%s", code, out)
	}
	_, code = runCLI(t, env, tok, "key", "create", "payments", "--group", "keys", "--type", "EC", "--curve", "P-256", "--ops", "SIGN,VERIFY,EXPORT")
	if code != 0 {
		t.Fatal("key create payments")
	}
	out, code = runCLI(t, env, tok, "azure", "key", "copy", "payments", "--group", "az-standard", "--wait")
	if code != 0 || !strings.Contains(out, "payments_copy1") || !strings.Contains(out, "payments-copy1") {
		t.Fatalf("copy: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "copy", "payments", "--group", "az-premium")
	if code != 0 || !strings.Contains(out, "keyward job watch") {
		t.Fatalf("copy without --wait: %d\n%s", code, out)
	}
	id := strings.Fields(out[strings.Index(out, "keyward job watch"):])[3]
	if out, code = runCLI(t, env, tok, "job", "watch", id, "--interval", "100ms"); code != 0 {
		t.Fatalf("job watch: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "copy", "payments_copy1", "--group", "az-premium")
	if code != 1 || !strings.Contains(out, "is a virtual key") {
		t.Fatalf("copy of a virtual key: %d\n%s", code, out)
	}
	src, err := admin.GetKey(ctx, "payments")
	apptest.Check(t, err)
	links, err := admin.KeyLinks(ctx, src.ID)
	if err != nil || len(links.Items) != 2 {
		t.Fatalf("the source's links: %+v %v", links, err)
	}
	cp, err := admin.GetKey(ctx, "payments_copy2")
	if err != nil || cp.Azure == nil || cp.Azure.SourceKey != src.ID || cp.Azure.KeyType != "EC-HSM" || cp.KCV != src.KCV {
		t.Fatalf("second copy %+v %v", cp, err)
	}
	// The group's service log, named by the group's name, tells the BYOK steps.
	out, code = runCLI(t, env, tok, "log", "list", "--group", "az-managed-hsm")
	if code != 0 || !strings.Contains(out, "Created the key-exchange key keyward-kek-") || !strings.Contains(out, "Deleted the key-exchange key keyward-kek-") ||
		!strings.Contains(out, `is the virtual key "data-aes" (oct-HSM, hsm protection, BYOK transfer)`) {
		t.Fatalf("log list: %d\n%s", code, out)
	}
	for _, vault := range []string{"kw-std", "kw-prem", "kw-hsm"} {
		live, deleted := w.keys(t, vault)
		if len(keks(live))+len(keks(deleted)) != 0 {
			t.Fatalf("%s holds key-exchange keys: %v %v", vault, live, deleted)
		}
	}
}

// The API refuses malformed requests at the edge, naming the field, writes nothing and
// starts no job; applications may not put keys into Azure.
func TestAzureKeyAPIRefusals(t *testing.T) {
	w := startPutWorld(t)
	env := apptest.Start(t, fastJobs)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	groups := linkAll(t, admin, w)
	hsm := "/v1/groups/" + groups["kw-hsm"] + "/azure/keys"
	before := auditCount(t, admin)
	for _, tc := range []struct {
		path, body, field string
	}{
		{hsm, `{"type":"AES"}`, "name"},
		{hsm, `{"name":"k"}`, "type"},
		{hsm, `{"name":"k","type":"AES","protection":"cloud"}`, "protection"},
		{hsm, `{"name":"k","type":"AES","not_before":"2027-01-02T00:00:00Z","expires":"2027-01-01T00:00:00Z"}`, "expires"},
		{hsm, `{"name":"k","type":"AES","colour":"blue"}`, "colour"},
		{hsm + "/import", `{"name":"k","type":"AES"}`, "material"},
		{hsm + "/import", `{"name":"k","material":"AAAA","kek":"x"}`, "wrap_algorithm"},
		{hsm + "/copy", `{"name":"k"}`, "source"},
	} {
		code, e := rawCall(t, admin, "POST", tc.path, tc.body)
		if code != 400 || e.Field != tc.field {
			t.Errorf("POST %s %s: %d %+v, want 400 on %s", tc.path, tc.body, code, e, tc.field)
		}
	}
	if n := auditCount(t, admin); n != before {
		t.Errorf("refused requests wrote %d audit records", n-before)
	}
	jl, err := admin.ListJobs(ctx, client.JobQuery{Kind: "azure.key.generate"})
	apptest.Check(t, err)
	if len(jl.Items) != 0 {
		t.Fatalf("refused requests started jobs: %+v", jl.Items)
	}
	g, err := admin.GetGroup(ctx, groups["kw-hsm"])
	apptest.Check(t, err)
	ac, err := admin.CreateApp(ctx, api.AppCreate{Name: "svc", Groups: []string{g.ID}})
	apptest.Check(t, err)
	app := env.Client(ac.APIKey)
	if code, e := rawCall(t, app, "POST", hsm, `{"name":"k","type":"AES"}`); code != 403 {
		t.Fatalf("an application generated a key in Azure: %d %+v", code, e)
	}
}
