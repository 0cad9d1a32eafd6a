output "bus_arn" {
  description = "central_bus_arn of ../member (CentralBusArn of ../../member-events.yaml)."
  value       = aws_cloudwatch_event_bus.central.arn
}

output "queue_urls" {
  description = "The chart's events.queueUrls, in shard order."
  value       = aws_sqs_queue.shard[*].url
}

output "queue_arns" {
  description = "event_queue_arns of ../../../iam/terraform (EventQueueArns of hub-role.yaml)."
  value       = aws_sqs_queue.shard[*].arn
}

output "dead_letter_queue_url" {
  description = "Events that could not be delivered or processed; watch its depth."
  value       = aws_sqs_queue.dead_letter.url
}
