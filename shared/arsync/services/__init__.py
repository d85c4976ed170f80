"""Use cases. Each takes its ports in the constructor and knows nothing of events, HTTP or boto3."""
