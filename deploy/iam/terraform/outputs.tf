output "hub_role_arn" {
  description = "Annotate the chart's service account with it (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.hub.arn
}

output "member_role_name" {
  description = "organization.member_role_name in the scanner's configuration."
  value       = var.member_role_name
}
