"""openclaw-guardrails: the CrossGuard policy pack for the OpenClaw deployment.

The CLI runs this file (`pulumi preview --policy-pack policy`); the pack serves the Analyzer
gRPC service and prints its port. Each module holds the policies of one area.
"""

import backup
import cross_resource
import default_deny
import egress_dependencies
import images
import network
import rbac
import release_policies
import secret_policies
import storage
import workload
from pulumi_policy import PolicyPack

PolicyPack(
    name="openclaw-guardrails",
    policies=[*default_deny.POLICIES, *network.POLICIES, *rbac.POLICIES, *secret_policies.POLICIES,
              *workload.POLICIES, *images.POLICIES, *storage.POLICIES, *cross_resource.POLICIES,
              *egress_dependencies.POLICIES, *backup.POLICIES, *release_policies.POLICIES],
)
