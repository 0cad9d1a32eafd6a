variable "organization_id" {
  description = "The organization's id (o-xxxxxxxxxx); only its accounts may put events on the bus."
  type        = string
  validation {
    condition     = can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "An organization id: o- and 10 to 32 lowercase letters or digits."
  }
}

variable "bus_name" {
  description = "Name of the central event bus; the queues and rules are named after it."
  type        = string
  default     = "cloudtrail-monitoring-scanner"
}

variable "shard_count" {
  description = "Daemon shards (the chart's sharding.shards; 1 without sharding): one queue each."
  type        = number
  default     = 1
  validation {
    condition     = var.shard_count >= 1 && floor(var.shard_count) == var.shard_count
    error_message = "At least one shard, a whole number."
  }
}
