//! deploy/iam-policy.json grants exactly the actions outpost calls: the
//! operations of `outpost::aws::calls::OPERATIONS` (which every API call goes
//! through) and the credential chain's `sts:AssumeRole`.

use outpost::aws::calls::{CREDENTIAL_ACTIONS, OPERATIONS};

#[test]
fn policy_grants_exactly_what_the_code_calls() {
    let text = std::fs::read_to_string("deploy/iam-policy.json").unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut granted: Vec<String> = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        for action in statement["Action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            assert!(!action.contains('*'), "wildcard action {action}");
            granted.push(action.to_string());
        }
    }
    let mut called: Vec<String> = OPERATIONS
        .iter()
        .map(|op| op.iam_action())
        .chain(CREDENTIAL_ACTIONS.iter().map(|a| a.to_string()))
        .collect();
    granted.sort();
    called.sort();
    let missing: Vec<&String> = called.iter().filter(|a| !granted.contains(a)).collect();
    let unused: Vec<&String> = granted.iter().filter(|a| !called.contains(a)).collect();
    assert!(missing.is_empty(), "the policy lacks {missing:?}");
    assert!(
        unused.is_empty(),
        "the policy grants {unused:?}, never called"
    );
    assert_eq!(granted, called, "an action is listed twice");
}

/// The IAM action names the accounting uses are the services' IAM prefixes.
#[test]
fn operations_map_to_iam_actions() {
    let actions: Vec<String> = OPERATIONS.iter().map(|op| op.iam_action()).collect();
    assert!(actions.contains(&"rds:DescribeDBInstances".to_string()));
    assert!(actions.contains(&"elasticloadbalancing:DescribeTargetHealth".to_string()));
    assert!(actions.contains(&"autoscaling:DescribeAutoScalingGroups".to_string()));
}
