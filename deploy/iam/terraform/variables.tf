variable "oidc_provider" {
  description = "The cluster's OIDC issuer without https:// (an IAM OIDC provider for it must exist in this account)."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the scanner's release."
  type        = string
  default     = "scanner"
}

variable "service_account_name" {
  description = "The chart's service account name."
  type        = string
  default     = "cloudtrail-monitoring-scanner"
}

variable "eks_pod_identity" {
  description = "Also trust EKS Pod Identity (pods.eks.amazonaws.com) for the same namespace and service account."
  type        = bool
  default     = false
}

variable "hub_role_name" {
  description = "Name of the hub role, created in this (management or security) account."
  type        = string
  default     = "cloudtrail-monitoring-scanner-hub"
}

variable "member_role_name" {
  description = "Name of the member role in every account (organization.member_role_name)."
  type        = string
  default     = "cloudtrail-monitoring-scanner"
}

variable "external_id" {
  description = "The ExternalId the scanner sends (organization.external_id)."
  type        = string
  validation {
    condition     = length(var.external_id) >= 2 && length(var.external_id) <= 1224
    error_message = "An ExternalId has 2 to 1224 characters."
  }
}

variable "organizational_unit_ids" {
  description = "Root id (r-xxxx, the whole organization) or OU ids the member role StackSet deploys to."
  type        = list(string)
}

variable "stackset_region" {
  description = "The one region of the StackSet's instances (IAM is global)."
  type        = string
  default     = "us-east-1"
}

variable "event_queue_arns" {
  description = "The change event queues the daemon reads (events.queue_urls), by ARN: the queue_arns output of ../../events/terraform/central. Empty: no event-driven re-evaluation, no grant."
  type        = list(string)
  default     = []
}
