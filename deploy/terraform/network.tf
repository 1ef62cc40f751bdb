# Prometheus may reach the scrape port, nothing else may reach anything; outpost
# itself may reach any address, since its targets are wherever the probes point.

resource "aws_security_group" "outpost" {
  name_prefix = "${var.name}-"
  description = "outpost prober: scrape port from Prometheus only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "scrape_from_cidr" {
  for_each = toset(var.prometheus_cidr_blocks)

  security_group_id = aws_security_group.outpost.id
  description       = "Prometheus scrapes outpost (/metrics, /probe)"
  ip_protocol       = "tcp"
  from_port         = var.listen_port
  to_port           = var.listen_port
  cidr_ipv4         = each.value
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "scrape_from_sg" {
  count = var.prometheus_security_group_id == null ? 0 : 1

  security_group_id            = aws_security_group.outpost.id
  description                  = "Prometheus scrapes outpost (/metrics, /probe)"
  ip_protocol                  = "tcp"
  from_port                    = var.listen_port
  to_port                      = var.listen_port
  referenced_security_group_id = var.prometheus_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "probes" {
  #checkov:skip=CKV_AWS_382:a prober's egress is its targets (any host, port and protocol: HTTP, TCP, DNS, ICMP, gRPC) and the AWS APIs
  security_group_id = aws_security_group.outpost.id
  description       = "Probes to any target, AWS API calls"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}
