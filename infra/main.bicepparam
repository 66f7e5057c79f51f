// Parameters for `az deployment sub create --template-file infra/main.bicep --parameters infra/main.bicepparam`.
// Every value comes from an environment variable, with the default shown, so the same file also
// serves azd: when this file exists azd uses it instead of main.parameters.json and compiles it
// with the values of the azd environment (`azd env set NAME value`). Keep the two files in step;
// tests/infra checks that they map the same variables to the same parameters.
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'proactive-bot')
param location = readEnvironmentVariable('AZURE_LOCATION', 'eastus2')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param principalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', 'User')
// Services that enqueue with their own identity (comma list of object ids): docs/deployment.md.
param queueSenderPrincipalIds = readEnvironmentVariable('PROACTIVE_QUEUE_SENDER_PRINCIPAL_IDS', '')

param botAppType = readEnvironmentVariable('BOT_APP_TYPE', 'UserAssignedMSI')
param botAppId = readEnvironmentVariable('BOT_APP_ID', '')
param botAppTenantId = readEnvironmentVariable('BOT_APP_TENANT_ID', '')
// Needed once, on the first SingleTenant deployment (or to rotate); then leave it unset.
param botAppPassword = readEnvironmentVariable('BOT_APP_PASSWORD', '')
param botCloud = readEnvironmentVariable('BOT_CLOUD', 'AzureCloud')

param cosmosDatabaseName = readEnvironmentVariable('COSMOS_DATABASE', 'bot')
param proactiveQueueName = readEnvironmentVariable('PROACTIVE_QUEUE_NAME', 'proactive-sends')
param scheduleTimer = readEnvironmentVariable('SCHEDULE_TIMER', '0 * * * * *')
param scheduleMinIntervalSeconds = int(readEnvironmentVariable('SCHEDULE_MIN_INTERVAL_SECONDS', '60'))
param referenceTtlDays = int(readEnvironmentVariable('REFERENCE_TTL_DAYS', '90'))

// keyHashSecret is left to its default (a new random key): it is written to Key Vault only while
// KEY_HASH_SECRET_EXISTS is false. azd records KEY_HASH_SECRET_EXISTS=true after the first
// provision; without azd, set it yourself for every deployment after the first.
param keyHashSecretExists = toLower(readEnvironmentVariable('KEY_HASH_SECRET_EXISTS', 'false')) == 'true'
param keyVaultPurgeProtection = toLower(readEnvironmentVariable('KEY_VAULT_PURGE_PROTECTION', 'true')) == 'true'
// The management API's caller policy: empty audience keeps it to function keys.
param proactiveApiAudience = readEnvironmentVariable('PROACTIVE_API_AUDIENCE', '')
param proactiveApiTenantId = readEnvironmentVariable('PROACTIVE_API_TENANT_ID', '')
param proactiveApiAllowedClientIds = readEnvironmentVariable('PROACTIVE_API_ALLOWED_CLIENT_IDS', '')
param publicNetworkAccess = readEnvironmentVariable('PUBLIC_NETWORK_ACCESS', 'Enabled')
