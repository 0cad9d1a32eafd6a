# The same roles as ../hub-role.yaml and ../member-stackset.yaml: a hub role for the scanner's
# service account (IRSA), and the member role (../member-role.yaml itself) in every account of
# the chosen OUs through a service-managed StackSet with automatic deployment.
# Apply in the management account (or a StackSets delegated administrator with call_as).

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # The scanner's read calls in one account (tests/deploy/test_iam.py derives them from
  # scanner/aws/*.py); the member role grants them in member-role.yaml, the hub here for its
  # own account, which the scanner reads with the hub's credentials.
  account_read_actions = [
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:GetTrailStatus",
    "cloudwatch:DescribeAlarmHistory", # only with --confirm (scan.confirm)
    "cloudwatch:DescribeAlarms",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "logs:DescribeLogGroups", # only for a log group without metric filters
    "logs:DescribeMetricFilters",
    "logs:TestMetricFilter", # only with --confirm (scan.confirm)
    "sns:GetSubscriptionAttributes",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
  ]
  organization_read_actions = [
    "organizations:DescribeOrganization",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListRoots",
  ]
  # The daemon's consumer of change events reads the queues of ../../events with these.
  event_queue_actions = [
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
  ]
  partition = data.aws_partition.current.partition
}

resource "aws_iam_role" "hub" {
  name                 = var.hub_role_name
  description          = "cloudtrail-monitoring-scanner hub role (IRSA)."
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([{
      Sid    = "ScannerServiceAccountOnly"
      Effect = "Allow"
      Principal = {
        Federated = "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${var.oidc_provider}"
      }
      Action = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${var.oidc_provider}:sub" = "system:serviceaccount:${var.namespace}:${var.service_account_name}"
          "${var.oidc_provider}:aud" = "sts.amazonaws.com"
        }
      }
      }], var.eks_pod_identity ? [{
      Sid       = "ScannerPodIdentity"
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = {
        StringEquals = {
          "aws:RequestTag/kubernetes-namespace"       = var.namespace
          "aws:RequestTag/kubernetes-service-account" = var.service_account_name
        }
      }
    }] : [])
  })
}

resource "aws_iam_role_policy" "hub" {
  name = "cloudtrail-monitoring-scanner-hub"
  role = aws_iam_role.hub.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AssumeMemberRoles"
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = "arn:${local.partition}:iam::*:role/${var.member_role_name}"
      },
      {
        Sid      = "ListOrganization"
        Effect   = "Allow"
        Action   = local.organization_read_actions
        Resource = "*"
      },
    ]
  })
}

resource "aws_iam_role_policy" "hub_read" {
  name = "cloudtrail-monitoring-scanner-read"
  role = aws_iam_role.hub.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ScannerReads"
      Effect   = "Allow"
      Action   = local.account_read_actions
      Resource = "*"
    }]
  })
}

resource "aws_iam_role_policy" "hub_events" {
  count = length(var.event_queue_arns) > 0 ? 1 : 0
  name  = "cloudtrail-monitoring-scanner-events"
  role  = aws_iam_role.hub.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ReadChangeEventQueues"
      Effect   = "Allow"
      Action   = local.event_queue_actions
      Resource = var.event_queue_arns
    }]
  })
}

resource "aws_cloudformation_stack_set" "member" {
  name             = "cloudtrail-monitoring-scanner-member-role"
  description      = "The cloudtrail-monitoring-scanner member role in every account."
  permission_model = "SERVICE_MANAGED"
  capabilities     = ["CAPABILITY_NAMED_IAM"]
  template_body    = file("${path.module}/../member-role.yaml")
  parameters = {
    HubRoleArn     = aws_iam_role.hub.arn
    ExternalId     = var.external_id
    MemberRoleName = var.member_role_name
  }
  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = false
  }
  managed_execution {
    active = true
  }
  operation_preferences {
    failure_tolerance_percentage = 10
    max_concurrent_percentage    = 25
    region_concurrency_type      = "PARALLEL"
  }
  lifecycle {
    ignore_changes = [administration_role_arn]
  }
}

resource "aws_cloudformation_stack_set_instance" "member" {
  stack_set_name            = aws_cloudformation_stack_set.member.name
  stack_set_instance_region = var.stackset_region
  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
  }
}
