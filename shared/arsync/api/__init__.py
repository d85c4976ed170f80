"""HTTP edge: resolver factory, routers, tenant extraction and the one error → problem+json mapping."""
