// Every role assignment of the deployment, in one place.
// The app's managed identity gets exactly what the code and the Functions host use; principalId
// (a person or a pipeline, optional) gets what operating the bot needs: reading the queues and
// the delivery receipts, and rotating the Key Vault secrets.

@description('Storage account of the host and the queues.')
param storageAccountName string

@description('Application Insights name.')
param applicationInsightsName string

@description('Cosmos DB account name.')
param cosmosAccountName string

@description('Key Vault name.')
param keyVaultName string

@description('Principal id of the app\'s user-assigned managed identity.')
param identityPrincipalId string

@description('Object id of an operator (person or pipeline); empty for none.')
param userPrincipalId string = ''

@description('The proactive queue: external senders get their role on it alone.')
param proactiveQueueName string

@description('Object ids of service principals or managed identities that may put messages on the proactive queue (Storage Queue Data Message Sender on that queue only).')
param queueSenderPrincipalIds array = []

@description('Kind of userPrincipalId.')
@allowed([
  'User'
  'ServicePrincipal'
])
param userPrincipalType string = 'User'

// Built-in role definition ids; they are the same in every tenant.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var storageQueueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
// Cosmos DB Built-in Data Contributor (data plane, not an ARM role).
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'

var hasOperator = !empty(userPrincipalId)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource proactiveQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: proactiveQueueName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// ---------------------------------------------------------------------------------------------
// The app's managed identity
// ---------------------------------------------------------------------------------------------

// Host storage (AzureWebJobsStorage blob: keys, timer locks) and the Flex deployment package.
resource apiBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The queue trigger, the code's sends to the proactive queue and its moves to the poison queue.
resource apiQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Entra auth (Application Insights local auth is off).
resource apiMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references: KEY_HASH_SECRET and MicrosoftAppPassword.
resource apiSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Cosmos DB data plane (account keys are disabled).
resource apiCosmosDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmos
  name: guid(cosmos.id, identityPrincipalId, cosmosDataContributor)
  properties: {
    principalId: identityPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: cosmos.id
  }
}

// ---------------------------------------------------------------------------------------------
// The operator (optional)
// ---------------------------------------------------------------------------------------------

// Peek at and re-queue poison messages (`az storage message ... --auth-mode login`).
resource operatorQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasOperator) {
  name: guid(storage.id, userPrincipalId, storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// Rotate the bot client secret; read the HMAC key for a backup.
resource operatorSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasOperator) {
  name: guid(vault.id, userPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

// Inspect references, receipts and schedules in Data Explorer or with the SDK.
resource operatorCosmosDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (hasOperator) {
  parent: cosmos
  name: guid(cosmos.id, userPrincipalId, cosmosDataContributor)
  properties: {
    principalId: userPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: cosmos.id
  }
}

// ---------------------------------------------------------------------------------------------
// External senders (optional)
// ---------------------------------------------------------------------------------------------

// Services that enqueue proactive messages with their own identity (`python -m bot.proactive
// --account-url`, or `az storage message put --auth-mode login`): storage shared keys are off,
// so this role is their only way in. Send only, on the proactive queue only: they cannot read,
// delete or peek at anyone's messages, nor reach the poison and fan-out queues.
// Blank entries (a trailing comma) are skipped; spaces around an id are not part of it.
resource senderQueueMessageSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for senderId in queueSenderPrincipalIds: if (!empty(trim(senderId))) {
  name: guid(proactiveQueue.id, trim(senderId), storageQueueDataMessageSender)
  scope: proactiveQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSender)
    principalId: trim(senderId)
    principalType: 'ServicePrincipal'
  }
}]
