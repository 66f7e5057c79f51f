// Storage for the Functions host (AzureWebJobsStorage), the Flex deployment package and the
// proactive queues. Only Entra ID (the managed identity) can reach the data: shared keys are off.

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Region.')
param location string

@description('Tags of every resource.')
param tags object = {}

@description('Replication.')
param skuName string = 'Standard_LRS'

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Queues to create: the proactive and broadcast fan-out queues and their poison queues.')
param queueNames array

@description('Public network access of the account: Enabled (default) or Disabled. Disabled needs private endpoints and VNet integration this template does not create (docs/deployment.md).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: No VNet here: the Flex app reaches storage over the public endpoint. Shared keys are off, so only Entra principals with data roles get in.
  // checkov:skip=CKV_AZURE_59: The public endpoint stays on for the Flex app (no VNet here); anonymous blob access is off and shared keys are off.
  // checkov:skip=CKV_AZURE_206: Host state and queue messages are transient: LRS by default, and the storageSkuName parameter offers ZRS and GRS.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: publicNetworkAccess
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
