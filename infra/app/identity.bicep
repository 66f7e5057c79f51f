// The user-assigned managed identity of the function app. It reaches storage, Cosmos DB, Key Vault
// and Application Insights, and with MicrosoftAppType=UserAssignedMSI it is also the bot identity.

@description('Identity name.')
param name string

@description('Region.')
param location string

@description('Tags of every resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
