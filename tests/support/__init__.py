"""Code only the tests use: models of real systems (server-side apply, the provider's awaiters, k3s
network policy, the CI identities' RBAC), the dev Vault server and the e2e pod booter (`e2e/`)."""
