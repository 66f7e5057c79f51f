// The Azure Bot registration and its Teams channel. Bot Service posts activities to the function
// app's /api/messages, which checks the Bot Framework token itself.

@description('Bot resource name (the bot handle).')
param name string

@description('Tags of every resource.')
param tags object = {}

@description('Display name.')
param displayName string

@description('Pricing tier.')
@allowed([
  'F0'
  'S1'
])
param sku string = 'F0'

@description('Default host name of the function app.')
param functionAppHostName string

@description('UserAssignedMSI (the managed identity is the bot) or SingleTenant (an Entra app registration).')
@allowed([
  'UserAssignedMSI'
  'SingleTenant'
])
param appType string

@description('Managed identity client id (UserAssignedMSI) or Entra app id (SingleTenant).')
param appId string

@description('Tenant of the bot identity.')
param tenantId string

@description('Resource id of the managed identity; used for UserAssignedMSI only.')
param identityId string

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: sku
  }
  properties: {
    displayName: displayName
    endpoint: 'https://${functionAppHostName}/api/messages'
    msaAppType: appType
    msaAppId: appId
    msaAppTenantId: tenantId
    msaAppMSIResourceId: appType == 'UserAssignedMSI' ? identityId : null
    schemaTransformationVersion: '1.3'
    // Channels authenticate with Entra ID only: no Direct Line or Web Chat secrets.
    disableLocalAuth: true
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2021-03-01' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

output name string = bot.name
output endpoint string = bot.properties.endpoint
