"""deploy/: the deployment files (prefect.yaml, automations.yaml, Dockerfile, compose.yaml). Installed as
`learnsync.deploy` only to carry automations.yaml, which `learnsync automations apply` reads."""
