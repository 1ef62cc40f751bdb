# The instance's identity: a role that EC2 may assume, carrying the least-privilege
# policy of [aws] scrapes (deploy/iam-policy.json, kept equal to the calls outpost
# makes by the test aws_iam::policy_grants_exactly_what_the_code_calls).

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "outpost" {
  name_prefix        = "${var.name}-"
  description        = "outpost prober: read-only AWS scrapes"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scrapes" {
  name = "outpost-scrapes"
  role = aws_iam_role.outpost.id
  # Decoded and re-encoded so that a malformed file fails at plan time.
  policy = jsonencode(jsondecode(file("${path.module}/../iam-policy.json")))
}

resource "aws_iam_instance_profile" "outpost" {
  name_prefix = "${var.name}-"
  role        = aws_iam_role.outpost.name
  tags        = var.tags
}
