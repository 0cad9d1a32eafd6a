# The same as ../../central.yaml, for any number of daemon shards: in the scanner's account and
# region, an event bus that accepts events from the organization's accounts only, and per shard
# a rule copying every event on the bus to that shard's SQS queue (every shard receives every
# event and keeps those of the accounts it owns), with one dead-letter queue.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  rule_arn_prefix = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${var.bus_name}/"
}

resource "aws_cloudwatch_event_bus" "central" {
  name = var.bus_name
}

resource "aws_cloudwatch_event_bus_policy" "central" {
  event_bus_name = aws_cloudwatch_event_bus.central.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "OrganizationAccountsOnly"
      Effect    = "Allow"
      Principal = "*"
      Action    = "events:PutEvents"
      Resource  = aws_cloudwatch_event_bus.central.arn
      Condition = {
        StringEquals = { "aws:PrincipalOrgID" = var.organization_id }
      }
    }]
  })
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.bus_name}-dead-letter"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

# EventBridge puts an event here when it cannot deliver it to a shard's queue.
resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "UndeliverableFromTheShardRules"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dead_letter.arn
      Condition = {
        ArnLike = { "aws:SourceArn" = "${local.rule_arn_prefix}${var.bus_name}-shard-*" }
      }
    }]
  })
}

resource "aws_sqs_queue" "shard" {
  count                   = var.shard_count
  name                    = "${var.bus_name}-shard-${count.index}"
  sqs_managed_sse_enabled = true
  # A day: an older change is the scheduled scan's to find.
  message_retention_seconds = 86400
  # Long polling: an idle daemon asks once every 20 seconds.
  receive_wait_time_seconds = 20
  # Longer than the daemon takes to re-collect and judge a batch.
  visibility_timeout_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = 5
  })
}

resource "aws_cloudwatch_event_rule" "shard" {
  count          = var.shard_count
  name           = "${var.bus_name}-shard-${count.index}"
  description    = "Every change event the organization's accounts forward, to daemon shard ${count.index}."
  event_bus_name = aws_cloudwatch_event_bus.central.name
  event_pattern  = jsonencode({ source = [{ prefix = "aws." }] })
}

resource "aws_cloudwatch_event_target" "shard" {
  count          = var.shard_count
  rule           = aws_cloudwatch_event_rule.shard[count.index].name
  event_bus_name = aws_cloudwatch_event_bus.central.name
  target_id      = "shard-${count.index}"
  arn            = aws_sqs_queue.shard[count.index].arn
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }
  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_sqs_queue_policy" "shard" {
  count     = var.shard_count
  queue_url = aws_sqs_queue.shard[count.index].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FromItsRuleOnly"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.shard[count.index].arn
      Condition = {
        ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.shard[count.index].arn }
      }
    }]
  })
}
