# One outpost host: a private EC2 instance whose user data installs the release
# binary, the hardened systemd unit (deploy/systemd/outpost.service) and the config,
# checks the config and starts the service.

data "aws_region" "current" {}

data "aws_ami" "debian12" {
  count       = var.ami_id == "" ? 1 : 0
  most_recent = true
  owners      = ["136693071363"] # Debian's official AMIs

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
}

locals {
  ami_id = var.ami_id != "" ? var.ami_id : data.aws_ami.debian12[0].id
  config = var.config_toml != "" ? var.config_toml : file("${path.module}/../../probes.toml")
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    binary_url    = var.binary_url
    binary_sha256 = var.binary_sha256
    config        = local.config
    unit          = file("${path.module}/../systemd/outpost.service")
    region        = data.aws_region.current.name
    listen_port   = var.listen_port
  })
}

resource "aws_instance" "outpost" {
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = [aws_security_group.outpost.id]
  iam_instance_profile        = aws_iam_instance_profile.outpost.name
  associate_public_ip_address = false
  ebs_optimized               = true
  monitoring                  = true
  # Gzipped: the unit and a full probes.toml stay well under EC2's 16 KiB limit.
  user_data_base64            = base64gzip(local.user_data)
  user_data_replace_on_change = true

  # IMDSv2 only, one hop: the AWS SDK's credentials come from the instance profile.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted   = true
    volume_type = "gp3"
    volume_size = var.root_volume_size
  }

  tags        = merge(var.tags, { Name = var.name })
  volume_tags = var.tags
}
