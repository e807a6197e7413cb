package api

import "net/http"

// AzureKeyTags replaces the tags of a virtual key's Azure key version (Azure keeps tags
// per version). An empty map removes them all.
type AzureKeyTags struct {
	Tags map[string]string `json:"tags"`
}

// Validate checks the request's shape against Azure's limits.
func (r *AzureKeyTags) Validate() error {
	if r.Tags == nil {
		return FieldError("tags", "is required (an empty object removes every tag)")
	}
	if len(r.Tags) > 15 {
		return FieldError("tags", "Azure allows at most 15 tags per key, not %d", len(r.Tags))
	}
	for k, v := range r.Tags {
		switch {
		case k == "":
			return FieldError("tags", "a tag name must not be empty")
		case len([]rune(k)) > 512:
			return FieldError("tags", "tag names are at most 512 characters")
		case len([]rune(v)) > 256:
			return FieldError("tags", "the value of tag %q is longer than 256 characters", k)
		}
	}
	return nil
}

// AzureKeyConfirm confirms a change that cannot be taken back lightly: a delete in Azure,
// a purge, the removal of a purged key and its escrowed backup.
type AzureKeyConfirm struct {
	Confirm bool `json:"confirm"`
}

// Validate checks the request's shape; the service explains what confirm confirms.
func (r *AzureKeyConfirm) Validate() error { return nil }

// AzureKeyRotate rotates a virtual key's Azure key: Azure makes the new version, or, with
// From, the new version holds the material of that Keyward key (which must permit EXPORT).
type AzureKeyRotate struct {
	From string `json:"from,omitempty"` // id or name of a Keyward key
}

// Validate checks the request's shape.
func (r *AzureKeyRotate) Validate() error { return nil }

// AzureKeyRemoved is what removing a purged Azure key took away.
type AzureKeyRemoved struct {
	Removed       []Key `json:"removed"`        // the purged virtual keys, as they were
	EscrowRemoved bool  `json:"escrow_removed"` // the escrowed backup was destroyed
}

// AzureCopyList lists a Keyward key's live Azure copies: the current virtual keys whose
// material came from it.
type AzureCopyList struct {
	Items []Key `json:"items"`
}

func init() {
	job := func(id, path, summary string, req any) Route {
		return Route{ID: id, Method: http.MethodPost, Path: "/v1/keys/{id}/azure/" + path, Tag: "azure", Summary: summary,
			Auth: AuthUser, Request: req, Response: Job{}, Status: 202}
	}
	Routes = append(Routes,
		job("setAzureKeyTags", "tags", "Write a virtual key's tags to its Azure key version (a job)", &AzureKeyTags{}),
		job("deactivateAzureKey", "deactivate", "Disable a virtual key's version in Azure (a job)", nil),
		job("activateAzureKey", "activate", "Enable a virtual key's version in Azure again (a job)", nil),
		job("deleteAzureKey", "delete", "Soft-delete a virtual key's Azure key with all its versions; needs confirm (a job)", &AzureKeyConfirm{}),
		job("recoverAzureKey", "recover", "Recover a soft-deleted Azure key with all its versions (a job)", nil),
		job("purgeAzureKey", "purge", "Purge a soft-deleted Azure key for good; needs confirm; refused under purge protection (a job)", &AzureKeyConfirm{}),
		job("restoreAzureKey", "restore", "Restore a purged Azure key from Keyward's escrowed backup (a job)", nil),
		job("reimportAzureKey", "reimport", "Re-import a purged Keyward-owned Azure key from its source key (a job)", nil),
		job("rotateAzureKey", "rotate", "Make a new version of a virtual key's Azure key, by Azure or from a Keyward key (a job)", &AzureKeyRotate{}),
		Route{ID: "removeAzureKey", Method: http.MethodPost, Path: "/v1/keys/{id}/azure/remove", Tag: "azure",
			Summary: "Remove a purged Azure key's virtual keys and destroy its escrowed backup; needs confirm", Auth: AuthUser,
			Request: &AzureKeyConfirm{}, Response: AzureKeyRemoved{}, Status: 200},
		Route{ID: "listAzureCopies", Method: http.MethodGet, Path: "/v1/keys/{id}/azure-copies", Tag: "azure",
			Summary: "List a Keyward key's live Azure copies (offered when it is rotated)", Auth: AuthUser, Response: AzureCopyList{}, Status: 200},
	)
}
