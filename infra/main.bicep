// The whole deployment: a resource group holding a Flex Consumption function app, its storage,
// Cosmos DB, Key Vault, monitoring and the Azure Bot with its Teams channel.
// azd runs it with main.bicepparam; `az deployment sub create` can use either parameters file.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the environment. With the subscription and the location it seeds the unique name of every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource but the bot, which is global. Only regions with Flex Consumption.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of a person or pipeline that also gets data access for operations (queues, Cosmos DB, Key Vault secrets). Empty for nobody.')
param principalId string = ''

@description('Object ids (comma list) of service principals or managed identities that may put messages on the proactive queue: each gets Storage Queue Data Message Sender on that queue alone. Empty for none.')
param queueSenderPrincipalIds string = ''

@description('Kind of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Resource group name; empty for rg-<environmentName>.')
param resourceGroupName string = ''

@description('Function app name; empty for a generated unique name.')
param functionAppName string = ''

@description('How the bot authenticates: UserAssignedMSI (the managed identity is the bot, no secret) or SingleTenant (an Entra app registration and its client secret).')
@allowed([
  'UserAssignedMSI'
  'SingleTenant'
])
param botAppType string = 'UserAssignedMSI'

@description('SingleTenant only: the Entra app (client) id of the bot registration.')
param botAppId string = ''

@description('SingleTenant only: the tenant of the app registration; empty for the tenant of this deployment.')
param botAppTenantId string = ''

@secure()
@description('SingleTenant only: the client secret. Written to Key Vault when given; leave it empty on later deployments to keep the stored one.')
param botAppPassword string = ''

@description('Name users see for the bot in the Bot Service.')
param botDisplayName string = 'Proactive Bot'

@description('Bot Service pricing tier. Teams is a standard channel, free on F0.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('Cloud of the channel tokens: AzureCloud keeps the code defaults; AzureUSGovernment sets the four BOT_* auth settings to the US Government values.')
@allowed([
  'AzureCloud'
  'AzureUSGovernment'
])
param botCloud string = 'AzureCloud'

@description('Cosmos DB database (COSMOS_DATABASE).')
param cosmosDatabaseName string = 'bot'

// A queue name has at most 63 characters, and '-fanout-poison' adds 14.
@description('Queue of proactive sends (PROACTIVE_QUEUE_NAME); also <name>-poison, <name>-fanout (broadcasts) and <name>-fanout-poison are created.')
@minLength(3)
@maxLength(49)
param proactiveQueueName string = 'proactive-sends'

@description('NCRONTAB of the schedule tick (SCHEDULE_TIMER).')
param scheduleTimer string = '0 * * * * *'

@description('Shortest interval a schedule may have, in seconds (SCHEDULE_MIN_INTERVAL_SECONDS).')
@minValue(1)
param scheduleMinIntervalSeconds int = 60

@description('Days after the last inbound activity before a conversation reference expires (REFERENCE_TTL_DAYS).')
@minValue(1)
@maxValue(24855)
param referenceTtlDays int = 90

@secure()
@description('HMAC key of the storage ids (KEY_HASH_SECRET), 122 random bits by default. Written to Key Vault only while keyHashSecretExists is false; changing it later changes every stored id.')
// checkov:skip=CKV_AZURE_131: Not a hard-coded value: newGuid() makes a new random key at each deployment that has no value for it.
param keyHashSecret string = newGuid()

@description('True once the key hash secret is in Key Vault, so that a deployment never overwrites it. azd reads it back from the KEY_HASH_SECRET_EXISTS output.')
param keyHashSecretExists bool = false

@description('Turn on Key Vault purge protection (cannot be turned off again). Leave it on where the HMAC key must survive an accidental delete; turn it off for throwaway environments.')
param keyVaultPurgeProtection bool = true

@description('App ID URI and/or client id of the management API app registration (PROACTIVE_API_AUDIENCE, comma list). Empty: function keys only. Set it to require an Entra ID app role on every route but /api/messages and /api/health (docs/deployment.md).')
param proactiveApiAudience string = ''

@description('Tenant whose tokens the management API accepts (PROACTIVE_API_TENANT_ID); empty: the deployment\'s tenant.')
param proactiveApiTenantId string = ''

@description('Calling apps (client ids, comma list) allowed on the management API (PROACTIVE_API_ALLOWED_CLIENT_IDS); empty: any app with the role.')
param proactiveApiAllowedClientIds string = ''

@description('Public network access of Storage, Cosmos DB and Key Vault: Enabled (default) or Disabled. Disabled needs private endpoints and VNet integration this template does not create (docs/deployment.md).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

// 40, Flex Consumption's least: the budget leases keep the channel's limits whatever the count
// (docs/rate-limits.md), but a tenant's budget has THROTTLE_TENANT_SHARES (10) shares, so past
// a few instances per share more instances only dequeue messages they must defer. Raise it
// with the shares for many busy tenants at once.
@description('Flex Consumption scale-out limit.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption instance memory.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Spread the function app over availability zones; Flex then keeps (and bills) at least two always-ready instances.')
param zoneRedundant bool = false

@description('Replication of the storage account (host state, deployment package, queues).')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

// ---------------------------------------------------------------------------------------------
// Names and derived values
// ---------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var apiName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(apiName, 32)}-${take(toLower(uniqueString(apiName, resourceToken)), 7)}'
var botTenantId = empty(botAppTenantId) ? tenant().tenantId : botAppTenantId
var keyHashSecretName = 'key-hash-secret'
var botPasswordSecretName = 'bot-app-password'
var usesAppSecret = botAppType == 'SingleTenant'
// The bot's app id is the managed identity's client id for UserAssignedMSI.
var botMsaAppId = usesAppSecret ? botAppId : identity.outputs.clientId

// Public Azure needs no BOT_* settings: the code's defaults are the public values.
var botAuthSettingsByCloud = {
  AzureCloud: []
  AzureUSGovernment: [
    {
      name: 'BOT_OPENID_METADATA_URL'
      value: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration'
    }
    {
      name: 'BOT_TOKEN_ISSUER'
      value: 'https://api.botframework.us'
    }
    {
      name: 'BOT_OAUTH_AUTHORITY'
      value: 'https://login.microsoftonline.us/${botTenantId}'
    }
    {
      name: 'BOT_OAUTH_SCOPE'
      value: 'https://api.botframework.us/.default'
    }
  ]
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2021-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    publicNetworkAccess: publicNetworkAccess
    deploymentContainerName: deploymentContainerName
    // The names the code derives from PROACTIVE_QUEUE_NAME: the proactive queue, the broadcast
    // fan-out queue (bot.broadcast.fanout), and the poison queue the host adds to each.
    queueNames: [
      proactiveQueueName
      '${proactiveQueueName}-poison'
      '${proactiveQueueName}-fanout'
      '${proactiveQueueName}-fanout-poison'
    ]
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
  }
}

module cosmos './app/db.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    accountName: '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
    databaseName: cosmosDatabaseName
    location: location
    tags: tags
    publicNetworkAccess: publicNetworkAccess
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    purgeProtection: keyVaultPurgeProtection
    publicNetworkAccess: publicNetworkAccess
    keyHashSecretName: keyHashSecretName
    keyHashSecret: keyHashSecret
    writeKeyHashSecret: !keyHashSecretExists
    botPasswordSecretName: botPasswordSecretName
    botAppPassword: usesAppSecret ? botAppPassword : ''
  }
}

// Every role assignment, for the app's identity and for principalId.
module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    cosmosAccountName: cosmos.outputs.accountName
    keyVaultName: keyVault.outputs.name
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    proactiveQueueName: proactiveQueueName
    // A comma list, so that azd (a ${VARIABLE} string) and main.bicepparam pass it alike;
    // rbac.bicep skips blank entries.
    queueSenderPrincipalIds: empty(queueSenderPrincipalIds) ? [] : split(queueSenderPrincipalIds, ',')
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: apiName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    zoneRedundant: zoneRedundant
    botAppType: botAppType
    botAppId: botMsaAppId
    botTenantId: botTenantId
    botPasswordSecretName: usesAppSecret ? botPasswordSecretName : ''
    botAuthSettings: botAuthSettingsByCloud[botCloud]
    keyHashSecretName: keyHashSecretName
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    proactiveQueueName: proactiveQueueName
    scheduleTimer: scheduleTimer
    scheduleMinIntervalSeconds: scheduleMinIntervalSeconds
    referenceTtlDays: referenceTtlDays
    proactiveApiAudience: proactiveApiAudience
    proactiveApiTenantId: empty(proactiveApiTenantId) ? tenant().tenantId : proactiveApiTenantId
    proactiveApiAllowedClientIds: proactiveApiAllowedClientIds
  }
  // The app resolves its Key Vault references and reaches storage at start-up: roles first.
  dependsOn: [
    rbac
  ]
}

module bot './app/bot.bicep' = {
  name: 'bot'
  scope: rg
  params: {
    name: '${abbrs.botServicesBots}${resourceToken}'
    tags: tags
    displayName: botDisplayName
    sku: botSku
    functionAppHostName: api.outputs.defaultHostName
    appType: botAppType
    appId: botMsaAppId
    tenantId: botTenantId
    identityId: identity.outputs.id
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env)
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostName}'
output API_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = cosmos.outputs.databaseName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output PROACTIVE_QUEUE_NAME string = proactiveQueueName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output BOT_NAME string = bot.outputs.name
output BOT_ID string = botMsaAppId
output BOT_ENDPOINT string = bot.outputs.endpoint
output BOT_APP_TYPE string = botAppType
output BOT_TENANT_ID string = botTenantId
// Read back as keyHashSecretExists on the next provision, so the secret is written only once.
output KEY_HASH_SECRET_EXISTS bool = true
