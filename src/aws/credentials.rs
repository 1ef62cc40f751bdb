//! Which credentials aws-config's default chain will use, named as an operator
//! knows them, for the one line logged when the AWS scrapes start. Read from the
//! environment and the files the chain reads, in the chain's own order, without
//! calling anything: the first call's error says when nothing was found.

use std::path::Path;

/// Where the default chain looks, first match wins (aws-config's
/// `DefaultCredentialsChain`): environment, shared profile files, web identity
/// (EKS IRSA), the ECS container endpoint, then EC2 instance metadata.
pub fn default_chain_source(env: impl Fn(&str) -> Option<String>, home: Option<&Path>) -> String {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        return "environment (AWS_ACCESS_KEY_ID)".to_string();
    }
    let profile = env("AWS_PROFILE").filter(|p| !p.is_empty());
    let files = [
        env("AWS_SHARED_CREDENTIALS_FILE"),
        env("AWS_CONFIG_FILE"),
        home.map(|h| h.join(".aws/credentials").display().to_string()),
        home.map(|h| h.join(".aws/config").display().to_string()),
    ];
    if let Some(file) = files.into_iter().flatten().find(|f| Path::new(f).is_file()) {
        let name = profile.unwrap_or_else(|| "default".to_string());
        return format!("profile {name} ({file}), if it has credentials");
    }
    if set("AWS_WEB_IDENTITY_TOKEN_FILE") && set("AWS_ROLE_ARN") {
        return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, EKS IRSA)".to_string();
    }
    if set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        return "container (ECS task role)".to_string();
    }
    "instance profile (EC2 instance metadata): no environment, profile, web identity or container credentials are set".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn source(vars: &[(&str, &str)], home: Option<&Path>) -> String {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        default_chain_source(|k| env.get(k).cloned(), home)
    }

    #[test]
    fn each_link_of_the_chain_is_named_in_its_order() {
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let none = Some(empty.path());
        assert_eq!(
            source(
                &[
                    ("AWS_ACCESS_KEY_ID", "AKIA"),
                    ("AWS_SECRET_ACCESS_KEY", "s")
                ],
                none
            ),
            "environment (AWS_ACCESS_KEY_ID)"
        );
        // A key id without its secret is not the environment provider.
        assert!(source(&[("AWS_ACCESS_KEY_ID", "AKIA")], none).starts_with("instance profile"));
        assert_eq!(
            source(
                &[
                    ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
                    ("AWS_ROLE_ARN", "arn:r")
                ],
                none
            ),
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, EKS IRSA)"
        );
        assert_eq!(
            source(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/c")], none),
            "container (ECS task role)"
        );
        assert!(source(&[], none).starts_with("instance profile (EC2 instance metadata)"));

        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(home.path().join(".aws")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(home.path().join(".aws/credentials"), "[ops]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let file = home.path().join(".aws/credentials").display().to_string();
        assert_eq!(
            source(&[("AWS_PROFILE", "ops")], Some(home.path())),
            format!("profile ops ({file}), if it has credentials")
        );
        // The environment wins over a profile file, as in the SDK.
        assert_eq!(
            source(
                &[("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s")],
                Some(home.path())
            ),
            "environment (AWS_ACCESS_KEY_ID)"
        );
    }
}
