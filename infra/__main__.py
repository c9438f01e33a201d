"""`pulumi up` runs this: the gateway on Kubernetes (see gateway_infra.program)."""

from gateway_infra.program import deploy

deploy()
