// Key Vault for the two secrets the app must not hold as plain settings: the HMAC key of the
// storage ids and, for SingleTenant bots, the client secret. The app reads them through Key Vault
// references with its managed identity (Key Vault Secrets User, in rbac.bicep).

@description('Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Region.')
param location string

@description('Tags of every resource.')
param tags object = {}

@description('Turn on purge protection; it cannot be turned off again.')
param purgeProtection bool = true

@description('Secret name of KEY_HASH_SECRET.')
param keyHashSecretName string

@secure()
@description('Value of KEY_HASH_SECRET; written only when writeKeyHashSecret is true.')
param keyHashSecret string

@description('False once the secret exists: the HMAC key must never be replaced by a redeployment.')
param writeKeyHashSecret bool

@description('Secret name of MicrosoftAppPassword.')
param botPasswordSecretName string

@secure()
@description('Bot client secret; written when not empty, so later deployments may leave it out.')
param botAppPassword string = ''

@description('Public network access of the vault: Enabled (default) or Disabled. Disabled needs private endpoints and VNet integration this template does not create (docs/deployment.md).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: No VNet here: App Service resolves the Key Vault references over the public endpoint. Access is Entra RBAC only.
  // checkov:skip=CKV_AZURE_189: App Service resolves the Key Vault references over the public endpoint (no VNet here); access is Entra RBAC only.
  // checkov:skip=CKV_AZURE_110: Purge protection is on by default (purgeProtection = true); checkov cannot evaluate the conditional that lets throwaway environments leave it off.
  // checkov:skip=CKV_AZURE_42: Soft delete is on and purge protection is on by default; see CKV_AZURE_110.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // null leaves it off: false is rejected once it has been turned on.
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

resource keyHash 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (writeKeyHashSecret) {
  // checkov:skip=CKV_AZURE_41: The HMAC key is permanent by design (a new key changes every stored id), so an expiry date would announce a rotation that must never happen.
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not look inside conditional resources.
  parent: vault
  name: keyHashSecretName
  properties: {
    value: keyHashSecret
    contentType: 'text/plain'
  }
}

resource botPassword 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(botAppPassword)) {
  // checkov:skip=CKV_AZURE_41: The secret's lifetime is set on the Entra app registration; rotate both together (docs/deployment.md).
  // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not look inside conditional resources.
  parent: vault
  name: botPasswordSecretName
  properties: {
    value: botAppPassword
    contentType: 'text/plain'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
