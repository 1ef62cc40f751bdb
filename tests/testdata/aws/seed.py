"""Seeds a moto_server with the resources the AWS tests assert on.

Usage: seed.py ENDPOINT REGION
Plain AWS API calls through boto3 (which comes with moto). Per region:
  RDS:  db-good (Multi-AZ, encrypted, 7 days backups, deletion protection,
        Performance Insights, Enhanced Monitoring 60 s, autoscaling storage),
        db-bad (none of it, each set off explicitly, publicly accessible),
        db-stopped (stopped);
  EC2:  a VPC, two subnets, two running instances and one stopped;
  ELBv2: alb-web with target group tg-web (both running instances: healthy,
        the stopped one: unused), and tg-idle attached to no load balancer;
  ASG:  asg-web (min 2, desired 2, max 6) and asg-small (min 1, desired 1, max 2).
Tags: env=prod and team=web on everything but db-bad and tg-idle (env=dev).
With a third argument N: also N more RDS instances (db-bulk-NNN), to page.
Prints "seeded" on success.
"""
import sys

import boto3

endpoint, region = sys.argv[1], sys.argv[2]
kw = dict(
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
prod = [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "web"}]
dev = [{"Key": "env", "Value": "dev"}]

rds = boto3.client("rds", **kw)
rds.create_db_instance(
    DBInstanceIdentifier="db-good", DBInstanceClass="db.m5.large", Engine="mysql",
    EngineVersion="8.0.35", AllocatedStorage=100, MaxAllocatedStorage=500,
    MasterUsername="admin", MasterUserPassword="password123", MultiAZ=True,
    StorageEncrypted=True, BackupRetentionPeriod=7, DeletionProtection=True,
    EnablePerformanceInsights=True, MonitoringInterval=60,
    MonitoringRoleArn="arn:aws:iam::123456789012:role/rds-monitoring",
    PubliclyAccessible=False, AutoMinorVersionUpgrade=True, Tags=prod,
)
rds.create_db_instance(
    DBInstanceIdentifier="db-bad", DBInstanceClass="db.t3.micro", Engine="mysql",
    EngineVersion="8.0.35", AllocatedStorage=20, MasterUsername="admin",
    MasterUserPassword="password123", MultiAZ=False, StorageEncrypted=False,
    BackupRetentionPeriod=1, DeletionProtection=False, PubliclyAccessible=True,
    AutoMinorVersionUpgrade=False, EnablePerformanceInsights=False, MonitoringInterval=0,
    Tags=dev,
)
rds.create_db_instance(
    DBInstanceIdentifier="db-stopped", DBInstanceClass="db.t3.micro", Engine="mysql",
    EngineVersion="8.0.35", AllocatedStorage=20, MasterUsername="admin",
    MasterUserPassword="password123", Tags=prod,
)
rds.stop_db_instance(DBInstanceIdentifier="db-stopped")
for n in range(int(sys.argv[3]) if len(sys.argv) > 3 else 0):
    rds.create_db_instance(
        DBInstanceIdentifier="db-bulk-%03d" % n, DBInstanceClass="db.t3.micro",
        Engine="mysql", AllocatedStorage=20, MasterUsername="admin",
        MasterUserPassword="password123",
    )

ec2 = boto3.client("ec2", **kw)
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=region + az)["Subnet"]["SubnetId"]
    for cidr, az in (("10.0.1.0/24", "a"), ("10.0.2.0/24", "b"))
]
ami = ec2.describe_images()["Images"][0]["ImageId"]
instances = [
    i["InstanceId"]
    for i in ec2.run_instances(ImageId=ami, MinCount=3, MaxCount=3, SubnetId=subnets[0])["Instances"]
]

elb = boto3.client("elbv2", **kw)
lb = elb.create_load_balancer(Name="alb-web", Subnets=subnets, Tags=prod)["LoadBalancers"][0]
tg = elb.create_target_group(
    Name="tg-web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance", Tags=prod
)["TargetGroups"][0]
elb.create_target_group(Name="tg-idle", Protocol="HTTP", Port=8080, VpcId=vpc, Tags=dev)
elb.create_listener(
    LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
    DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
)
elb.register_targets(
    TargetGroupArn=tg["TargetGroupArn"],
    Targets=[{"Id": i, "Port": 80} for i in instances],
)
ec2.stop_instances(InstanceIds=[instances[2]])

asg = boto3.client("autoscaling", **kw)
asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId=ami, InstanceType="t3.micro")
for name, low, want, high in (("asg-web", 2, 2, 6), ("asg-small", 1, 1, 2)):
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchConfigurationName="lc", MinSize=low,
        DesiredCapacity=want, MaxSize=high, VPCZoneIdentifier=subnets[0],
        Tags=[dict(t, PropagateAtLaunch=False) for t in prod],
    )
print("seeded")
