"""Seeds moto's CloudWatch with PutMetricData for the resources seed.py made.

Usage: cloudwatch_seed.py ENDPOINT REGION K
Run after seed.py for the same region. K (1, 2 ...) scales every value so each
region's series differ. Timestamps are relative to END, the last minute boundary
at or before now (the window end of a refresh with delay 0 and a 60 s period):
  NEW = END - 55 s (the newest complete period), OLD = END - 115 s (the one
  before), ANCIENT = END - 2 h (outside any window of an interval up to 1 h).
Datapoints (per the default metric set), with k = K:
  alb-web:  RequestCount 1000k, HTTPCode_Target_5XX_Count 3k,
            HTTPCode_ELB_5XX_Count 2k, HTTPCode_Target_4XX_Count 7k,
            TargetResponseTime 0.2k and 0.6k (Average 0.4k, Maximum 0.6k);
            no RejectedConnectionCount (nil_to_zero: 0).
  tg-web (with alb-web): HealthyHostCount 2k and k (Minimum k),
            UnHealthyHostCount 0 and k (Maximum k).
  db-good:  CPUUtilization 99 at OLD and 40+k at NEW (newest wins),
            FreeStorageSpace 5e9k, FreeableMemory 1e9k, DatabaseConnections 10k,
            ReadLatency 0.001k, WriteLatency 0.002k, BurstBalance 90+k,
            ReplicaLag 7 at ANCIENT only (absent).
  db-bad:   CPUUtilization 10k only (the other metrics absent).
  asg-web:  AWS/EC2 CPUUtilization 30k per AutoScalingGroupName.
Prints END, then "seeded".
"""
import datetime
import sys
import time

import boto3

endpoint, region, k = sys.argv[1], sys.argv[2], float(sys.argv[3])
kw = dict(
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
end = int(time.time()) // 60 * 60
at = lambda secs: datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)
NEW, OLD, ANCIENT = at(end - 55), at(end - 115), at(end - 7200)

elb = boto3.client("elbv2", **kw)
lb_arn = elb.describe_load_balancers(Names=["alb-web"])["LoadBalancers"][0]["LoadBalancerArn"]
tg_arn = elb.describe_target_groups(Names=["tg-web"])["TargetGroups"][0]["TargetGroupArn"]
lb_dim = lb_arn.split(":", 5)[5][len("loadbalancer/"):]
tg_dim = tg_arn.split(":", 5)[5]

cw = boto3.client("cloudwatch", **kw)


def put(namespace, dims, name, value, when=NEW):
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[{
            "MetricName": name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
            "Timestamp": when,
            "Value": value,
        }],
    )


alb = [("LoadBalancer", lb_dim)]
for name, value in (
    ("RequestCount", 1000 * k), ("HTTPCode_Target_5XX_Count", 3 * k),
    ("HTTPCode_ELB_5XX_Count", 2 * k), ("HTTPCode_Target_4XX_Count", 7 * k),
    ("TargetResponseTime", 0.2 * k), ("TargetResponseTime", 0.6 * k),
):
    put("AWS/ApplicationELB", alb, name, value)
tg = [("LoadBalancer", lb_dim), ("TargetGroup", tg_dim)]
for name, value in (
    ("HealthyHostCount", 2 * k), ("HealthyHostCount", k),
    ("UnHealthyHostCount", 0), ("UnHealthyHostCount", k),
):
    put("AWS/ApplicationELB", tg, name, value)
good = [("DBInstanceIdentifier", "db-good")]
put("AWS/RDS", good, "CPUUtilization", 99, OLD)
for name, value in (
    ("CPUUtilization", 40 + k), ("FreeStorageSpace", 5e9 * k),
    ("FreeableMemory", 1e9 * k), ("DatabaseConnections", 10 * k),
    ("ReadLatency", 0.001 * k), ("WriteLatency", 0.002 * k),
    ("BurstBalance", 90 + k),
):
    put("AWS/RDS", good, name, value)
put("AWS/RDS", good, "ReplicaLag", 7, ANCIENT)
put("AWS/RDS", [("DBInstanceIdentifier", "db-bad")], "CPUUtilization", 10 * k)
put("AWS/EC2", [("AutoScalingGroupName", "asg-web")], "CPUUtilization", 30 * k)
print(end)
print("seeded")
