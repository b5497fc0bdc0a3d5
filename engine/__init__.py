"""The offline engine that `python -m tools.render` and the tests share: the program under Pulumi's mock
runtime (harness, fake cluster, Vault answers), the policy pack driven over its Analyzer gRPC service,
the manifests' schema checks, the provider's calls, the records and YAML text they exchange."""
