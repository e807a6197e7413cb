package akvemu

import "strings"

// cloud holds the host names and token audiences of one Azure cloud (akv-api.md §4.4).
type cloud struct {
	name         string   // the value used in configuration: public, usgov, china
	loginHosts   []string // Entra authority hosts; the first is canonical
	stsHost      string   // host of the v1 token issuer, https://{stsHost}/{tenant}/
	armHost      string   // Azure Resource Manager endpoint host
	armAudiences []string // token audiences ARM accepts
	vaultSuffix  string   // ".vault.azure.net"
	hsmSuffix    string   // ".managedhsm.azure.net"
	vaultAppID   string   // the Key Vault service principal, an accepted audience too
}

// vaultResource is the token resource for vaults, https plus the suffix without its dot.
func (c *cloud) vaultResource() string { return "https://" + c.vaultSuffix[1:] }

// hsmResource is the token resource for managed HSMs.
func (c *cloud) hsmResource() string { return "https://" + c.hsmSuffix[1:] }

// issuer is the v1 access-token issuer for a tenant, as Key Vault and ARM expect it.
func (c *cloud) issuer(tenant string) string { return "https://" + c.stsHost + "/" + tenant + "/" }

// authority is the canonical Entra authority URL for a tenant.
func (c *cloud) authority(tenant string) string {
	return "https://" + c.loginHosts[0] + "/" + tenant
}

// keyVaultAppID is the well-known application id of Azure Key Vault; Key Vault accepts it as
// a token audience besides its resource URL.
const keyVaultAppID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"

var clouds = []*cloud{
	{
		name:       "public",
		loginHosts: []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"},
		stsHost:    "sts.windows.net",
		armHost:    "management.azure.com",
		armAudiences: []string{"https://management.core.windows.net/", "https://management.core.windows.net",
			"https://management.azure.com/", "https://management.azure.com"},
		vaultSuffix: ".vault.azure.net",
		hsmSuffix:   ".managedhsm.azure.net",
		vaultAppID:  keyVaultAppID,
	},
	{
		name:       "usgov",
		loginHosts: []string{"login.microsoftonline.us", "login.usgovcloudapi.net"},
		stsHost:    "sts.windows.net",
		armHost:    "management.usgovcloudapi.net",
		armAudiences: []string{"https://management.core.usgovcloudapi.net/", "https://management.core.usgovcloudapi.net",
			"https://management.usgovcloudapi.net/", "https://management.usgovcloudapi.net"},
		vaultSuffix: ".vault.usgovcloudapi.net",
		hsmSuffix:   ".managedhsm.usgovcloudapi.net",
		vaultAppID:  keyVaultAppID,
	},
	{
		name:       "china",
		loginHosts: []string{"login.chinacloudapi.cn", "login.partner.microsoftonline.cn"},
		stsHost:    "sts.chinacloudapi.cn",
		armHost:    "management.chinacloudapi.cn",
		armAudiences: []string{"https://management.core.chinacloudapi.cn/", "https://management.core.chinacloudapi.cn",
			"https://management.chinacloudapi.cn/", "https://management.chinacloudapi.cn"},
		vaultSuffix: ".vault.azure.cn",
		hsmSuffix:   ".managedhsm.azure.cn",
		vaultAppID:  keyVaultAppID,
	},
}

// cloudNamed returns the cloud for a configuration name; "" means public.
func cloudNamed(name string) *cloud {
	switch strings.ToLower(name) {
	case "", "public", "azurepublic", "azurecloud":
		return clouds[0]
	case "usgov", "usgovernment", "azureusgovernment", "azuregovernment":
		return clouds[1]
	case "china", "azurechina", "azurechinacloud":
		return clouds[2]
	}
	return nil
}

// adminHost is the reserved host name of the emulator's admin API. It cannot collide with an
// Azure host name.
const adminHost = "emulator.keyward.local"

// serviceKind says which emulated service a host belongs to.
type serviceKind int

const (
	svcUnknown serviceKind = iota
	svcLogin
	svcARM
	svcVault
	svcHSM
	svcAdmin
)

// classifyHost maps a host name (without port, lower case) to the service and cloud that
// answer it, and for vault and HSM hosts the resource name (the first label).
func classifyHost(host string) (serviceKind, *cloud, string) {
	if host == adminHost {
		return svcAdmin, nil, ""
	}
	for _, c := range clouds {
		for _, h := range c.loginHosts {
			if host == h {
				return svcLogin, c, ""
			}
		}
		if host == c.armHost {
			return svcARM, c, ""
		}
		if name, ok := strings.CutSuffix(host, c.vaultSuffix); ok && name != "" && !strings.Contains(name, ".") {
			return svcVault, c, name
		}
		if name, ok := strings.CutSuffix(host, c.hsmSuffix); ok && name != "" && !strings.Contains(name, ".") {
			return svcHSM, c, name
		}
	}
	return svcUnknown, nil, ""
}
