output "stack_set_name" {
  description = "The StackSet of forwarding rules."
  value       = aws_cloudformation_stack_set.events.name
}
