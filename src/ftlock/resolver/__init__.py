"""Resolution: index client, metadata, cache, target environment and the resolvelib provider."""
