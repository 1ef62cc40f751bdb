variable "name" {
  description = "Name of the instance and prefix of the IAM role, instance profile and security group."
  type        = string
  default     = "outpost"
}

variable "vpc_id" {
  description = "VPC that the instance and its security group live in."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet for the instance (it needs outbound access to its targets and the AWS APIs, no public address)."
  type        = string
}

variable "ami_id" {
  description = "AMI to run: Debian 12 or another systemd distribution with curl and sha256sum. Empty: the latest official Debian 12 amd64 AMI."
  type        = string
  default     = ""
}

variable "instance_type" {
  description = "EC2 instance type; outpost needs little (docs/benchmarks.md)."
  type        = string
  default     = "t3.small"
}

variable "binary_url" {
  description = "HTTPS URL the instance downloads the outpost release binary (x86_64 Linux) from, e.g. a presigned S3 URL."
  type        = string

  validation {
    condition     = startswith(var.binary_url, "https://")
    error_message = "binary_url must be an https:// URL."
  }
}

variable "binary_sha256" {
  description = "SHA-256 of the binary at binary_url; the install stops if it differs."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.binary_sha256))
    error_message = "binary_sha256 must be 64 lowercase hex digits."
  }
}

variable "config_toml" {
  description = "Contents of /etc/outpost/probes.toml. Empty: the repository's probes.toml. It is checked with `outpost check` before the service starts."
  type        = string
  default     = ""
}

variable "listen_port" {
  description = "Port outpost serves /metrics and /probe on (its --listen default is :9465)."
  type        = number
  default     = 9465
}

variable "prometheus_cidr_blocks" {
  description = "IPv4 CIDR blocks of the Prometheus servers allowed to scrape listen_port."
  type        = list(string)
  default     = []
}

variable "prometheus_security_group_id" {
  description = "Security group of the Prometheus servers allowed to scrape listen_port (null: none)."
  type        = string
  default     = null
}

variable "root_volume_size" {
  description = "Size of the encrypted root volume in GiB."
  type        = number
  default     = 8
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
