// Cosmos DB for NoSQL, serverless, reachable with Entra ID only (local key auth off). The
// containers mirror bot/storage/containers.py; tests/infra checks that the two agree.

@description('Cosmos DB account name.')
param accountName string

@description('Database name (COSMOS_DATABASE).')
param databaseName string

@description('Region.')
param location string

@description('Tags of every resource.')
param tags object = {}

@description('Public network access of the account: Enabled (default) or Disabled. Disabled needs private endpoints and VNet integration this template does not create (docs/deployment.md).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

// One entry per ContainerSpec in bot.storage.containers.ALL_CONTAINERS. Only the paths that
// queries filter on are indexed (`/*` is excluded); documents are otherwise read by id.
var containers = [
  {
    name: 'references'
    partitionKey: '/id'
    includedPaths: [
      {
        path: '/kind/?'
      }
      {
        path: '/channelId/?'
      }
      {
        path: '/tenantId/?'
      }
      {
        path: '/conversationId/?'
      }
      {
        path: '/conversationKey/?'
      }
      {
        path: '/active/?'
      }
    ]
  }
  {
    name: 'deliveries'
    partitionKey: '/id'
    includedPaths: []
  }
  {
    name: 'schedules'
    partitionKey: '/id'
    includedPaths: [
      {
        path: '/nextRunAt/?'
      }
      {
        path: '/enabled/?'
      }
      {
        path: '/pending/retryAt/?'
      }
      {
        path: '/conversation/channelId/?'
      }
      {
        path: '/conversation/conversationId/?'
      }
      {
        path: '/user/channelId/?'
      }
      {
        path: '/user/userId/?'
      }
      {
        path: '/createdAt/?'
      }
    ]
  }
  {
    name: 'state'
    partitionKey: '/id'
    includedPaths: []
  }
  {
    name: 'throttles'
    partitionKey: '/id'
    includedPaths: []
  }
  {
    // One partition per operation: its progress is counted inside it (kind, outcome).
    name: 'broadcasts'
    partitionKey: '/operationId'
    includedPaths: [
      {
        path: '/operationId/?'
      }
      {
        path: '/kind/?'
      }
      {
        path: '/outcome/?'
      }
    ]
  }
  {
    // Claims of inbound activity ids; each expires with its token (bot/turn/redeliveries.py).
    name: 'inbound'
    partitionKey: '/id'
    includedPaths: []
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  // checkov:skip=CKV_AZURE_101: No VNet here: the Flex app reaches Cosmos DB over the public endpoint. Local (key) auth is off, so only Entra principals with a data-plane role get in.
  // checkov:skip=CKV_AZURE_99: Flex Consumption has no fixed outbound addresses to put in an IP rule, and there is no VNet here; local auth is off.
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: publicNetworkAccess
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

// Serverless: no throughput options. defaultTtl -1 turns TTL on without expiring anything by
// default, so the code can set a per-document ttl (REFERENCE_TTL_DAYS).
resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for spec in containers: {
    parent: database
    name: spec.name
    properties: {
      resource: {
        id: spec.name
        partitionKey: {
          paths: [
            spec.partitionKey
          ]
          kind: 'Hash'
          version: 2
        }
        defaultTtl: -1
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: spec.includedPaths
          excludedPaths: [
            {
              path: '/*'
            }
          ]
        }
      }
    }
  }
]

output accountName string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
