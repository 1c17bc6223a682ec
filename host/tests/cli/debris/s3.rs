//! A backup killed mid-upload to s3: the multipart upload and markers left
//! behind are found and cleared.

use super::*;

/// The objects (relative to the project's prefix) and the open uploads
/// (`upload KEY`) under the project's S3 prefix.
fn s3_state(lab: &Lab, p: &Project) -> Vec<String> {
    let listed = lab_boto3(
        lab,
        p,
        "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix + '/'):\n\
         \x20   for o in page.get('Contents', []): print(o['Key'][len(prefix) + 1:])\n\
         for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix + '/').get('Uploads', []):\n\
         \x20   print('upload', u['Key'][len(prefix) + 1:])",
        &[],
    );
    let mut v: Vec<String> = listed.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Makes by hand what a run leaves in S3: an archive without manifest
/// owned by `tag`, or an upload with one part and its marker.
fn s3_make(lab: &Lab, p: &Project, what: &str, key: &str, tag: &str) {
    let script = match what {
        "archive" => {
            "s3.put_object(Bucket=bucket, Key=prefix + '/' + sys.argv[4], Body=b'half an archive', Metadata={'cairn-owner': sys.argv[5]})"
        }
        "object" => {
            "s3.put_object(Bucket=bucket, Key=prefix + '/' + sys.argv[4], Body=b'not cairn s')"
        }
        "upload" => {
            "import json\n\
             k = sys.argv[4]\n\
             u = s3.create_multipart_upload(Bucket=bucket, Key=prefix + '/' + k, Metadata={'cairn-owner': sys.argv[5]})['UploadId']\n\
             s3.upload_part(Bucket=bucket, Key=prefix + '/' + k, UploadId=u, PartNumber=1, Body=b'x' * 1024)\n\
             d, b = k.rsplit('/', 1)\n\
             s3.put_object(Bucket=bucket, Key=prefix + '/' + d + '/.cairn-tmp-' + sys.argv[5] + '-0-' + b + '.upload', Body=json.dumps({'key': k, 'upload-id': u}).encode())"
        }
        other => panic!("{other}"),
    };
    lab_boto3(lab, p, script, &[key.as_ref(), tag.as_ref()]);
}

/// Sees a backup mid-upload: an open upload (not the live writer's), and
/// the marker naming its owner (or, 5 s after the upload, none).
fn mid_upload<'a>(lab: &'a Lab, p: &'a Project) -> impl Fn() -> Option<String> + 'a {
    let seen = std::cell::Cell::new(None::<Instant>);
    move || {
        let state = s3_state(lab, p);
        let upload = state
            .iter()
            .any(|k| k.starts_with("upload ") && !k.contains("site-live"));
        if !upload {
            return None;
        }
        let marker = state.into_iter().find(|k| {
            k.contains("/.cairn-tmp-") && k.ends_with(".upload") && !k.contains("site-live")
        });
        let first = *seen.get().get_or_insert_with(Instant::now);
        seen.set(Some(first));
        match marker {
            Some(m) => Some(m),
            None if first.elapsed() > Duration::from_secs(5) => Some("no marker".into()),
            None => None,
        }
    }
}

#[test]
fn a_backup_killed_mid_upload_to_s3() {
    let Some(lab) = lab() else { return };
    let Some(_) = &lab.s3 else {
        eprintln!("skipped: no lab S3");
        return;
    };
    let Some(db) = TestDb::new() else { return };
    let p = crate::backup::project(&lab);
    let good = backup(&p, &db, "lab");

    // Killed mid-upload: the upload stays open, with its marker.
    let marker = killed_backup(&p, &db, "lab", mid_upload(&lab, &p));
    let tag = tag_of(&marker);
    let state = s3_state(&lab, &p);
    assert!(
        state
            .iter()
            .any(|k| k.starts_with("upload backups/postgres/site-")),
        "{state:?}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let half = format!("backups/postgres/site-{}.dump.zst", stamp_now());
    s3_make(&lab, &p, "archive", &half, &tag);
    let live_key = "backups/postgres/site-live.dump.zst";
    s3_make(&lab, &p, "upload", live_key, &live_tag(&tag));
    s3_make(&lab, &p, "object", "notes.txt", "");
    let before = s3_state(&lab, &p);

    // `latest` passes over the archive without manifest.
    p.runbook(
        "latest",
        "runbook latest version=1 {\n    step find uses=restore action=latest { kind postgres; name site; storage lab; }\n}\n",
    );
    p.cairn(&["run", "latest"]).success();
    assert_eq!(outputs(&p, "find")["key"], good);

    let dry = p.cairn(&["storage", "gc", "lab", "--dry-run"]);
    dry.success()
        .stdout_has("would remove unfinished upload:")
        .stdout_has("would remove archive without manifest: ")
        .stdout_has(&half)
        .stdout_has("kept unfinished upload: ")
        .stdout_has("is writing it")
        .stdout_lacks("notes.txt");
    assert_eq!(s3_state(&lab, &p), before);

    p.cairn(&["storage", "gc", "lab", "--json"]).success();
    let after = s3_state(&lab, &p);
    let expected: Vec<String> = before
        .iter()
        .filter(|k| {
            // The killed run's upload and marker, and its archive, go.
            !(k.as_str() == marker
                || k.as_str() == half
                || (k.starts_with("upload ") && !k.ends_with(live_key)))
        })
        .cloned()
        .collect();
    assert_eq!(after, expected);
    assert!(after.contains(&good) && after.contains(&format!("{good}.manifest.json")));
    assert!(after.contains(&format!("upload {live_key}")), "{after:?}");

    // Killed again: the next backup aborts that upload; prune keeps the
    // two archives with manifests and leaves the one without.
    let marker2 = killed_backup(&p, &db, "lab", mid_upload(&lab, &p));
    std::thread::sleep(Duration::from_millis(1100));
    let half2 = format!("backups/postgres/site-{}.dump.zst", stamp_now());
    s3_make(&lab, &p, "archive", &half2, &tag_of(&marker2));
    std::thread::sleep(Duration::from_millis(1100));
    let newest = backup(&p, &db, "lab");
    let left = s3_state(&lab, &p);
    assert!(!left.contains(&marker2), "{left:?}");
    let uploads: Vec<&String> = left.iter().filter(|k| k.starts_with("upload ")).collect();
    assert_eq!(uploads, [&format!("upload {live_key}")], "{left:?}");
    for k in [&good, &newest, &half2] {
        assert!(left.contains(k), "{k}: {left:?}");
    }
    assert!(left.contains(&format!("{good}.manifest.json")));

    // The live writer's upload is this test's: abort it.
    lab_boto3(
        &lab,
        &p,
        "for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix + '/').get('Uploads', []):\n\
         \x20   s3.abort_multipart_upload(Bucket=bucket, Key=u['Key'], UploadId=u['UploadId'])",
        &[],
    );
}
