"""arsync: the domain package shared by every Lambda function (deployed as the SharedLayer)."""
