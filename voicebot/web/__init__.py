"""HTTP routes beside the media WebSocket: Ringover webhooks and the call-records API."""
