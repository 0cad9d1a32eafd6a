variable "central_bus_arn" {
  description = "ARN of the scanner's central event bus (the bus_arn output of ../central)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9_.-]+$", var.central_bus_arn))
    error_message = "An event bus ARN: arn:aws:events:<region>:<account>:event-bus/<name>."
  }
}

variable "organizational_unit_ids" {
  description = "Root id (r-xxxx, the whole organization) or OU ids the forwarding StackSet deploys to."
  type        = list(string)
}

variable "regions" {
  description = "Every region the accounts use (the regions the scanner scans); must include us-east-1, where global services' events arrive."
  type        = list(string)
  validation {
    condition     = contains(var.regions, "us-east-1")
    error_message = "us-east-1 is where Organizations' and IAM's events arrive: list it."
  }
}

variable "call_as" {
  description = "SELF in the management account; DELEGATED_ADMIN in a StackSets delegated administrator."
  type        = string
  default     = "SELF"
}
