// The Flex Consumption plan and the Linux Python function app, with every app setting the code
// reads in production (see bot/settings.py). Identity-based connections only: no keys, no
// connection strings, and the two secrets are Key Vault references.

@description('Function app name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Region.')
param location string

@description('Tags of every resource.')
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Storage account of the host, the deployment package and the queues.')
param storageAccountName string

@description('Blob container of the deployment package.')
param deploymentContainerName string

@description('Application Insights name.')
param applicationInsightsName string

@description('Key Vault holding KEY_HASH_SECRET and, for SingleTenant, MicrosoftAppPassword.')
param keyVaultName string

// 40, Flex Consumption's least: the budget leases keep the channel's limits whatever the count
// (docs/rate-limits.md), but a tenant's budget has THROTTLE_TENANT_SHARES (10) shares, so past
// a few instances per share more instances only dequeue messages they must defer. Raise it
// with the shares for many busy tenants at once.
@description('Flex Consumption scale-out limit.')
param maximumInstanceCount int = 40

@description('Flex Consumption instance memory.')
param instanceMemoryMB int = 2048

// Every HTTP handler is async (aiohttp, the async Cosmos DB and queue clients), so one Python
// worker serves many requests at once; Flex's default for Python is 1, one instance per
// concurrent request. Measured on one local host (make bench, inbound_http, docs/deployment.md):
// 16 in flight gave 3x the throughput of 1 and 32 gave less than 16, with p99 four times worse.
@description('Flex Consumption HTTP requests in flight per instance.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Spread instances over availability zones (bills at least two always-ready instances).')
param zoneRedundant bool = false

@description('MicrosoftAppType.')
@allowed([
  'UserAssignedMSI'
  'SingleTenant'
])
param botAppType string

@description('MicrosoftAppId: the managed identity client id (UserAssignedMSI) or the Entra app id (SingleTenant).')
param botAppId string

@description('MicrosoftAppTenantId.')
param botTenantId string

@description('Key Vault secret holding MicrosoftAppPassword; empty when the bot has no secret (UserAssignedMSI).')
param botPasswordSecretName string = ''

@description('BOT_* auth settings ({name, value} list) for a non-public cloud; empty for public Azure, where the code defaults apply.')
param botAuthSettings array = []

@description('Key Vault secret holding KEY_HASH_SECRET.')
param keyHashSecretName string

@description('COSMOS_ENDPOINT.')
param cosmosEndpoint string

@description('COSMOS_DATABASE.')
param cosmosDatabaseName string

@description('PROACTIVE_QUEUE_NAME.')
param proactiveQueueName string

@description('SCHEDULE_TIMER.')
param scheduleTimer string

@description('SCHEDULE_MIN_INTERVAL_SECONDS.')
param scheduleMinIntervalSeconds int

@description('REFERENCE_TTL_DAYS.')
param referenceTtlDays int

@description('PROACTIVE_API_AUDIENCE: the App ID URI and/or client id of the management API app registration; empty leaves Entra ID off (function keys only).')
param proactiveApiAudience string = ''

@description('PROACTIVE_API_TENANT_ID: the tenant whose tokens the management API accepts.')
param proactiveApiTenantId string = ''

@description('PROACTIVE_API_ALLOWED_CLIENT_IDS: calling apps allowed (comma list); empty allows any app with the role.')
param proactiveApiAllowedClientIds string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// App settings as {name, value} lists, concatenated into siteConfig.appSettings below.

// AzureWebJobsStorage as an identity-based connection: blob for the host and the timer's locks,
// queue for the queue trigger and for the code's own queue client (bot/storage/queues.py).
var hostStorageSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
]

var monitoringSettings = [
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
]

var botSettings = [
  {
    name: 'MicrosoftAppId'
    value: botAppId
  }
  {
    name: 'MicrosoftAppType'
    value: botAppType
  }
  {
    name: 'MicrosoftAppTenantId'
    value: botTenantId
  }
]

var botSecretSettings = empty(botPasswordSecretName) ? [] : [
  {
    name: 'MicrosoftAppPassword'
    value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${botPasswordSecretName})'
  }
]

// The management API's caller policy (docs/deployment.md, "Callers of the management API").
var proactiveApiSettings = empty(proactiveApiAudience) ? [] : [
  {
    name: 'PROACTIVE_API_AUDIENCE'
    value: proactiveApiAudience
  }
  {
    name: 'PROACTIVE_API_TENANT_ID'
    value: proactiveApiTenantId
  }
  {
    name: 'PROACTIVE_API_ALLOWED_CLIENT_IDS'
    value: proactiveApiAllowedClientIds
  }
]

var productSettings = [
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'COSMOS_ENDPOINT'
    value: cosmosEndpoint
  }
  {
    name: 'COSMOS_DATABASE'
    value: cosmosDatabaseName
  }
  {
    name: 'PROACTIVE_QUEUE_NAME'
    value: proactiveQueueName
  }
  {
    name: 'SCHEDULE_TIMER'
    value: scheduleTimer
  }
  {
    name: 'SCHEDULE_MIN_INTERVAL_SECONDS'
    value: string(scheduleMinIntervalSeconds)
  }
  {
    name: 'REFERENCE_TTL_DAYS'
    value: string(referenceTtlDays)
  }
  {
    name: 'KEY_HASH_SECRET'
    value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${keyHashSecretName})'
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Zone redundancy on Flex Consumption bills at least two always-ready instances; opt in with the zoneRedundant parameter.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Bot Service calls /api/messages from the internet; that route checks the Bot Framework JWT, the others need a function key.
  // checkov:skip=CKV_AZURE_17: Bot Service presents no client certificate; inbound calls are authenticated by the Bot Framework JWT and function keys.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero; always-ready instances are a cost decision (functionAppConfig.scaleAndConcurrency.alwaysReady).
  // checkov:skip=CKV_AZURE_213: The platform health check is not available on Flex Consumption; GET /api/health is there for external probes.
  name: name
  location: location
  // azd finds the deploy target of service `api` by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Flex apps take no FUNCTIONS_WORKER_RUNTIME or FUNCTIONS_EXTENSION_VERSION: the runtime is
      // in functionAppConfig.
      appSettings: concat(hostStorageSettings, monitoringSettings, botSettings, botSecretSettings, botAuthSettings, productSettings, proactiveApiSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Deployments go through the blob container with the identity (functionAppConfig.deployment):
// no FTP or SCM basic-auth publishing credentials exist to leak.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
