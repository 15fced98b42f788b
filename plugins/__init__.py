"""Example custom plugins, registered through config.yaml's `plugins:` list."""
