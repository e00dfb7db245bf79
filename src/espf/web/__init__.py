"""The operator console: server-rendered pages at /console/ over the same
service as the API, signed in with an API user's login and password."""
