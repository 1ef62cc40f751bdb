"""moto for benches/aws_scale.sh: serves AWS on 127.0.0.1 and seeds one region fast.
Run by the script, not by hand.

Usage: aws_seed.py PORT REGION DB_INSTANCES TARGET_GROUPS ASGS
Starts moto's server (the one `moto_server` runs) in this process, seeds REGION, prints
"seeded rds=N target_groups=M load_balancers=L asgs=G seconds=S" and serves until
killed. The DB instances go straight into moto's RDS backend (through the API, moto
spends most of each call writing its XML answer, so 1,000 instances took minutes on a
loaded machine); everything else is plain AWS API calls through boto3 to the server:
  RDS:   DB_INSTANCES instances db-NNNN (mysql/postgres, three classes, every 4th
         Multi-AZ, every other one encrypted), tagged env=prod or env=dev, team=tNN;
  EC2:   a VPC, two subnets, 20 running instances;
  ELBv2: TARGET_GROUPS target groups tg-NNN, four per ALB alb-NNN (one HTTP listener
         per group, so each group belongs to one load balancer), each with 2 to 4
         registered instances; tagged like the DB instances;
  ASG:   ASGS groups asg-NN (min 1, desired 1, max 4).
"""
import logging
import sys
import threading
import time

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.rds.models import rds_backends
from moto.server import ThreadedMotoServer

port, region = int(sys.argv[1]), sys.argv[2]
n_db, n_tg, n_asg = (int(a) for a in sys.argv[3:6])
TG_PER_LB = 4
# The server logs every request (and moto's missing operations) otherwise.
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
started = time.monotonic()
kw = dict(
    endpoint_url="http://127.0.0.1:%d" % port,
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)


def tags(i):
    return [{"Key": "env", "Value": "prod" if i % 3 else "dev"},
            {"Key": "team", "Value": "t%02d" % (i % 20)}]


# One call through the API so the backend is set up as the server does it.
boto3.client("rds", **kw).describe_db_instances()
backend = rds_backends[DEFAULT_ACCOUNT_ID][region]
for i in range(n_db):
    backend.create_db_instance({
        "db_instance_identifier": "db-%04d" % i,
        "db_instance_class": ("db.t3.micro", "db.m5.large", "db.r6g.xlarge")[i % 3],
        "engine": ("mysql", "postgres")[i % 2],
        "allocated_storage": 20 + i % 100,
        "master_username": "admin",
        "master_user_password": "password123",
        "multi_az": i % 4 == 0,
        "storage_encrypted": i % 2 == 0,
        "backup_retention_period": i % 8,
        "tags": tags(i),
    })

ec2 = boto3.client("ec2", **kw)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=region + az)["Subnet"]["SubnetId"]
    for cidr, az in (("10.0.1.0/24", "a"), ("10.0.2.0/24", "b"))
]
ami = ec2.describe_images()["Images"][0]["ImageId"]
instances = [
    i["InstanceId"]
    for i in ec2.run_instances(ImageId=ami, MinCount=20, MaxCount=20, SubnetId=subnets[0])["Instances"]
]

elb = boto3.client("elbv2", **kw)
n_lb = (n_tg + TG_PER_LB - 1) // TG_PER_LB
for j in range(n_lb):
    lb = elb.create_load_balancer(Name="alb-%03d" % j, Subnets=subnets, Tags=tags(j))
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    for i in range(j * TG_PER_LB, min(n_tg, (j + 1) * TG_PER_LB)):
        port_i = 8000 + i % TG_PER_LB
        tg = elb.create_target_group(
            Name="tg-%03d" % i, Protocol="HTTP", Port=port_i, VpcId=vpc,
            TargetType="instance", Tags=tags(i),
        )["TargetGroups"][0]["TargetGroupArn"]
        elb.create_listener(
            LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80 + i % TG_PER_LB,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        )
        members = [instances[(i + m) % len(instances)] for m in range(2 + i % 3)]
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": m, "Port": port_i} for m in members])

asg = boto3.client("autoscaling", **kw)
asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=ami, InstanceType="t3.micro")
for g in range(n_asg):
    asg.create_auto_scaling_group(
        AutoScalingGroupName="asg-%02d" % g, LaunchConfigurationName="lc", MinSize=1,
        DesiredCapacity=1, MaxSize=4, VPCZoneIdentifier=subnets[0],
        Tags=[dict(t, PropagateAtLaunch=False) for t in tags(g)],
    )
print("seeded rds=%d target_groups=%d load_balancers=%d asgs=%d seconds=%.1f"
      % (n_db, n_tg, n_lb, n_asg, time.monotonic() - started), flush=True)
threading.Event().wait()
