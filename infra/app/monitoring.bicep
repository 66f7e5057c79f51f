// Log Analytics and workspace-based Application Insights. Local (instrumentation key) auth is
// off: the app sends telemetry with its managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights name.')
param applicationInsightsName string

@description('Region.')
param location string

@description('Tags of every resource.')
param tags object = {}

@description('Log retention in days.')
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // The ARM name of this property is capitalised in this API version.
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

output applicationInsightsName string = applicationInsights.name
output connectionString string = applicationInsights.properties.ConnectionString
