# The same as ../../member-events-stackset.yaml: ../../member-events.yaml itself, the forwarding
# rule of change events, in every listed region of every account of the chosen OUs, through a
# service-managed StackSet with automatic deployment. Apply in the management account (or a
# StackSets delegated administrator with call_as), after ../central. A service-managed StackSet
# never deploys to the management account: deploy ../../member-events.yaml there as plain stacks,
# one per region (Organizations' events arrive in its us-east-1).

resource "aws_cloudformation_stack_set" "events" {
  name             = "cloudtrail-monitoring-scanner-member-events"
  description      = "The cloudtrail-monitoring-scanner change forwarding rule in every account and region."
  permission_model = "SERVICE_MANAGED"
  call_as          = var.call_as
  capabilities     = ["CAPABILITY_IAM"]
  template_body    = file("${path.module}/../../member-events.yaml")
  parameters = {
    CentralBusArn = var.central_bus_arn
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

resource "aws_cloudformation_stack_set_instance" "events" {
  for_each                  = toset(var.regions)
  stack_set_name            = aws_cloudformation_stack_set.events.name
  call_as                   = var.call_as
  stack_set_instance_region = each.value
  deployment_targets {
    organizational_unit_ids = var.organizational_unit_ids
  }
}
