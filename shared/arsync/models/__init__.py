"""Three model shapes per entity: API (`api`), domain (`customer`, ...), DynamoDB record (`records`)."""
