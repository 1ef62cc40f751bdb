"""Seeds and changes a moto_server for the discovery test (tests/integration/discovery.rs).

Usage: discover_seed.py ENDPOINT REGION ACTION...
Plain AWS API calls through boto3 (which comes with moto), in REGION, one ACTION
after another:
  lb:NAME:TAGS   create load balancer NAME (an ALB over two subnets of a VPC made
                 on first use in the region), tagged TAGS: k=v pairs joined by "+",
                 e.g. lb:alb-a:env=prod+team=web
  rmlb:NAME      delete load balancer NAME
  db:NAME:PORT:TAGS  create DB instance NAME (mysql) listening on PORT, tagged TAGS
  rmdb:NAME      delete DB instance NAME
  stopdb:NAME    stop DB instance NAME
Prints one line per resource created, "NAME ADDRESS" (the load balancer's DNS
name, the DB instance's endpoint address), then "seeded".
"""
import sys

import boto3

endpoint, region, actions = sys.argv[1], sys.argv[2], sys.argv[3:]
kw = dict(
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)


def tags(text):
    return [
        {"Key": k, "Value": v}
        for k, v in (pair.split("=", 1) for pair in text.split("+") if pair)
    ]


def subnets(ec2):
    """Two subnets of the region's seeded VPC (10.9.0.0/16), made on first use."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.9.0.0/16"]}])["Vpcs"]
    if vpcs:
        vpc = vpcs[0]["VpcId"]
        found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        return sorted(s["SubnetId"] for s in found)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=region + az)["Subnet"][
            "SubnetId"
        ]
        for cidr, az in (("10.9.1.0/24", "a"), ("10.9.2.0/24", "b"))
    ]


ec2 = boto3.client("ec2", **kw)
elb = boto3.client("elbv2", **kw)
rds = boto3.client("rds", **kw)
for action in actions:
    kind, _, rest = action.partition(":")
    if kind == "lb":
        name, _, tagtext = rest.partition(":")
        lb = elb.create_load_balancer(Name=name, Subnets=subnets(ec2), Tags=tags(tagtext))
        print(name, lb["LoadBalancers"][0]["DNSName"])
    elif kind == "rmlb":
        arn = elb.describe_load_balancers(Names=[rest])["LoadBalancers"][0]["LoadBalancerArn"]
        elb.delete_load_balancer(LoadBalancerArn=arn)
    elif kind == "db":
        name, port, tagtext = rest.split(":", 2)
        db = rds.create_db_instance(
            DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="mysql",
            AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123",
            Port=int(port), Tags=tags(tagtext),
        )["DBInstance"]
        print(name, db["Endpoint"]["Address"])
    elif kind == "rmdb":
        rds.delete_db_instance(DBInstanceIdentifier=rest, SkipFinalSnapshot=True)
    elif kind == "stopdb":
        rds.stop_db_instance(DBInstanceIdentifier=rest)
    else:
        sys.exit("unknown action %r" % action)
print("seeded")
