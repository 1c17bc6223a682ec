//! The stock runbooks of `runbooks/`, built into the binary.

/// The stock runbooks built into the binary: name and text.
pub const STOCK_RUNBOOKS: &[(&str, &str)] = &[
    (
        "disk-triage",
        include_str!("../../runbooks/disk-triage.kdl"),
    ),
    ("backup", include_str!("../../runbooks/backup.kdl")),
    ("restore", include_str!("../../runbooks/restore.kdl")),
    (
        "dr-rehearsal",
        include_str!("../../runbooks/dr-rehearsal.kdl"),
    ),
    (
        "deploy-update",
        include_str!("../../runbooks/deploy-update.kdl"),
    ),
    ("move-site", include_str!("../../runbooks/move-site.kdl")),
];
