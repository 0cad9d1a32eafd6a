"""Every ARN the scanner parses or builds: pure string work in one place.

An ARN is ``arn:<partition>:<service>:<region>:<account>:<resource>``. Parsers that return ``""``
instead of raising serve the evaluator, which must treat a malformed ARN from AWS as "not that
resource" rather than crash.
"""

from __future__ import annotations

import re

# Not an ARN, but an identifier written alike wherever it is read (--ous, suppressions): an
# organizational unit's id, or the organization root's.
OU_OR_ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")


def arn_parts(arn: str) -> tuple[str, str, str, str, str]:
    """``(partition, service, region, account, resource)``; ``ValueError`` if not an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def _part(arn: str, index: int) -> str:
    try:
        return arn_parts(arn)[index]
    except ValueError:
        return ""


def arn_partition(arn: str) -> str:
    return _part(arn, 0)


def arn_service(arn: str) -> str:
    return _part(arn, 1)


def arn_region(arn: str) -> str:
    return _part(arn, 2)


def arn_account(arn: str) -> str:
    return _part(arn, 3)


def arn_resource_name(arn: str) -> str:
    """The last segment of the resource (``topic`` of ``...:topic``, ``t`` of ``trail/t``)."""
    resource = _part(arn, 4)
    return resource.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def is_sns_topic(arn: str) -> bool:
    return arn_service(arn) == "sns"


def log_group_of(arn: str) -> tuple[str, str, str, str] | None:
    """``(partition, region, account, log group name)`` of a log group ARN (with or without the
    ``:*`` CloudTrail appends), or ``None`` when it is not one."""
    try:
        partition, service, region, account, resource = arn_parts(arn)
    except ValueError:
        return None
    if service != "logs" or not resource.startswith("log-group:"):
        return None
    name = resource.removeprefix("log-group:").removesuffix(":*")
    return (partition, region, account, name) if name else None


def role_arn(account_id: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def topic_arn(account_id: str, region: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:sns:{region}:{account_id}:{name}"


def log_group_arn(account_id: str, region: str, name: str, partition: str = "aws") -> str:
    """The ARN CloudTrail's ``CloudWatchLogsLogGroupArn`` holds (with the trailing ``:*``)."""
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}:*"


def trail_arn(account_id: str, region: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{name}"


def alarm_arn(account_id: str, region: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm:{name}"


# The alias of the AWS managed key for SNS, which CloudWatch cannot use.
AWS_MANAGED_SNS_KEY = "alias/aws/sns"


def is_aws_managed_sns_key(key_id: str) -> bool:
    """Whether a topic's KmsMasterKeyId names the AWS managed key for SNS (alias or alias ARN)."""
    return key_id == AWS_MANAGED_SNS_KEY or key_id.endswith(":" + AWS_MANAGED_SNS_KEY)
