"""A Flyte task that reads AWS Secrets Manager secrets through smexec.

The task code is what it was with Flyte's AWS Secrets Manager sidecar:
current_context().secrets.get(GROUP, KEY). Only the secret_requests
changed: the secrets are named in the task's environment, for smexec,
which runs as the image's entrypoint (see Dockerfile).
"""

import flytekit
from flytekit import task, workflow

# As Flyte's and Union's docs hand them out: the group is the ARN up to
# and including "secret:", the key the secret's name with its suffix.
SECRET_GROUP = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
DB_KEY = "prod/billing/db-AbCdEf"
API_KEY = "prod/billing/stripe-GhIjKl"

# Before, with the sidecar:
#
#   @task(secret_requests=[Secret(group=SECRET_GROUP, key=DB_KEY, mount_requirement=Secret.MountType.FILE),
#                          Secret(group=SECRET_GROUP, key=API_KEY, mount_requirement=Secret.MountType.FILE)])
#
# After, with smexec: one group and one key a line, paired in order.
SMEXEC = {
    "SMEXEC_SECRET_GROUP": "\n".join([SECRET_GROUP, SECRET_GROUP]),
    "SMEXEC_SECRET_KEY": "\n".join([DB_KEY, API_KEY]),
}


@task(environment=SMEXEC)
def charge(amount: int) -> str:
    secrets = flytekit.current_context().secrets
    db = secrets.get(SECRET_GROUP, DB_KEY)
    api_key = secrets.get(SECRET_GROUP, API_KEY)
    # ... use them; never return or log them.
    return f"charged {amount} with a {len(api_key)}-character key and a {len(db)}-byte db secret"


@workflow
def billing(amount: int = 100) -> str:
    return charge(amount=amount)
