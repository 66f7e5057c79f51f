"""Where the bot keeps things: Cosmos DB containers and Azure Storage queues."""
