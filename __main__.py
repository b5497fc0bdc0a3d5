"""OpenClaw on k3s: read the stack config, build the deployment, export what operators need."""

import pulumi

from components.openclaw import OpenClaw, OpenClawArgs, load_inputs

config, catalog = load_inputs()
openclaw = OpenClaw("openclaw", OpenClawArgs(config=config, catalog=catalog))

pulumi.export("namespace", openclaw.namespace_name)
pulumi.export("serviceAddress", openclaw.service_address)
pulumi.export("pvc", openclaw.claim_name)
pulumi.export("teleportApp", openclaw.teleport_app)
pulumi.export("verificationCommands", openclaw.verification)
