output "instance_id" {
  description = "ID of the outpost instance."
  value       = aws_instance.outpost.id
}

output "private_ip" {
  description = "Private IPv4 address of the outpost instance."
  value       = aws_instance.outpost.private_ip
}

output "scrape_target" {
  description = "host:port for Prometheus' static_configs (/metrics and /probe)."
  value       = "${aws_instance.outpost.private_ip}:${var.listen_port}"
}

output "security_group_id" {
  description = "Security group of the instance (allow Prometheus' scrapes here)."
  value       = aws_security_group.outpost.id
}

output "role_arn" {
  description = "ARN of the instance's IAM role; trust it from role_arn / role_arns targets in other accounts."
  value       = aws_iam_role.outpost.arn
}

output "instance_profile_name" {
  description = "Name of the instance profile."
  value       = aws_iam_instance_profile.outpost.name
}
