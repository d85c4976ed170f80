"""Persistence: the repository port (`base`), its DynamoDB adapter (`dynamodb`) and all key building (`keys`)."""
