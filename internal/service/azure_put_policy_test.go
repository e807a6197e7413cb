package service

import (
	"context"
	"testing"

	"github.com/keyward/keyward/internal/keyward"
)

// A group's policy holds for keys put into its vault as for any object made in it, and a
// refusal comes before any call to Azure.
func TestPutIntoAzureFollowsGroupPolicy(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	group := e.groups[keyward.VaultStandard]
	pol := keyward.GroupPolicy{Crypto: keyward.CryptoPolicy{Types: []keyward.ObjectType{keyward.TypeRSA}, RSASizes: []int{3072}},
		Metadata: keyward.MetadataPolicy{RequiredTags: []string{"owner"}}}
	if _, err := e.s.UpdateGroup(ctx, e.admin, group, GroupPatch{Policy: &pol}); err != nil {
		t.Fatal(err)
	}
	before := e.emu.Stats().Vaults["kw-std"].Requests
	owned := map[string]string{"owner": "payments"}
	for name, tc := range map[string]struct {
		in    AzureGenerate
		field string
	}{
		"an EC key":   {AzureGenerate{Type: keyward.TypeEC, AzureKeyInput: AzureKeyInput{Tags: owned}}, "type"},
		"RSA-2048":    {AzureGenerate{Type: keyward.TypeRSA, Size: 2048, AzureKeyInput: AzureKeyInput{Tags: owned}}, "size"},
		"no owner":    {AzureGenerate{Type: keyward.TypeRSA, Size: 3072}, "tags.owner"},
		"empty owner": {AzureGenerate{Type: keyward.TypeRSA, Size: 3072, AzureKeyInput: AzureKeyInput{Tags: map[string]string{"owner": ""}}}, "tags.owner"},
	} {
		in := tc.in
		in.GroupID, in.AzureName = group, "policy-refused"
		j, err := e.s.GenerateInAzure(ctx, e.admin, in)
		var ke *keyward.Error
		if j != nil || !asKeywardError(err, &ke) || ke.Code != keyward.EFORBIDDEN || ke.Field != tc.field {
			t.Errorf("%s: job %v, err %v; want a refusal on %s", name, j, err, tc.field)
		}
	}
	if after := e.emu.Stats().Vaults["kw-std"].Requests; after != before {
		t.Errorf("refused requests called Azure %d times", after-before)
	}
	res := e.succeeded(e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeRSA, Size: 3072,
		AzureKeyInput: AzureKeyInput{GroupID: group, AzureName: "policy-ok", Tags: owned}}))
	if o := e.object(res.ObjectID); o.Type != keyward.TypeRSA || o.Size != 3072 || o.Tags["owner"] != "payments" {
		t.Fatalf("the compliant key: %+v", o)
	}
	if e.emu.Stats().Vaults["kw-std"].Requests == before {
		t.Fatal("the vault's request count does not move: the check above proves nothing")
	}
}
