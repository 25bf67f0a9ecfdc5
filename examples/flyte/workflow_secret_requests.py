"""A Flyte task that reads AWS Secrets Manager secrets through Flyte's own
webhook, with smexec as its sidecar image (propeller-webhook.yaml).

Nothing here names smexec: this is the task as it is written for Flyte's
AWS sidecar, and it keeps working, unchanged, when the cluster's
webhook.awsSecretManager.sidecarImage is switched to smexec's. Any task
image works: smexec runs in the init containers, not in the task's.
"""

import flytekit
from flytekit import Secret, task, workflow

# As Flyte's and Union's docs hand them out: the group is the ARN up to
# and including "secret:", the key the secret's name with its suffix.
SECRET_GROUP = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
DB_KEY = "prod/billing/db-AbCdEf"
# With smexec as the sidecar, a key may pick a JSON field, as in any
# smexec REF (the AWS sidecar would have looked for a secret of that name).
DB_PASSWORD_KEY = "prod/billing/db-AbCdEf:password"


@task(
    secret_requests=[
        Secret(group=SECRET_GROUP, key=DB_KEY, mount_requirement=Secret.MountType.FILE),
        Secret(group=SECRET_GROUP, key=DB_PASSWORD_KEY, mount_requirement=Secret.MountType.FILE),
    ]
)
def charge(amount: int) -> str:
    secrets = flytekit.current_context().secrets
    db = secrets.get(SECRET_GROUP, DB_KEY)
    password = secrets.get(SECRET_GROUP, DB_PASSWORD_KEY)
    # ... use them; never return or log them.
    return f"charged {amount} with a {len(db)}-byte db secret and a {len(password)}-character password"


@workflow
def billing(amount: int = 100) -> str:
    return charge(amount=amount)
