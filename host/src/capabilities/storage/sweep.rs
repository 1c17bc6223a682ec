//! The sweep before a write: a transfer into a storage first removes the
//! debris that dead writers left in the directory it writes to (temporary
//! files, unfinished uploads and their markers; never an archive, which
//! `cairn storage gc` judges). Each removal is journaled; a sweep that
//! fails is reported and never fails the write.

use serde_json::json;

use super::Storage;
use crate::capabilities::StepState;

impl StepState {
    /// Sweeps the directory of `key` in `storage`. Not in a dry-run.
    pub fn sweep_debris(&mut self, storage: &str, key: &str) {
        if self.cx.plans(true) {
            return;
        }
        let prefix = key
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| format!("{d}/"));
        let url = self.cx.state::<Storage>().url(storage, &prefix);
        let found = self
            .cx
            .state::<Storage>()
            .open(storage)
            .and_then(|s| Ok((s.debris(&prefix, false, self.cx.deadline)?, s)));
        let (found, store) = match found {
            Ok(f) => f,
            Err(e) => {
                self.storage_event(
                    false,
                    false,
                    format!("debris under {url}: not swept: {e}"),
                    json!({ "op": "sweep", "storage": storage, "prefix": prefix, "error": e }),
                );
                return;
            }
        };
        for d in found.iter().filter(|d| d.remove) {
            let r = store.remove_debris(d, self.cx.deadline);
            let shown = self.cx.state::<Storage>().url(storage, &d.key);
            let mut detail = json!({
                "op": "sweep",
                "storage": storage,
                "key": d.key,
                "debris": d,
            });
            let summary = match &r {
                Ok(()) => format!("removed {} {shown}: {}", d.what.label(), d.why),
                Err(e) => {
                    detail["error"] = json!(e);
                    format!("{} {shown} not removed: {e}", d.what.label())
                }
            };
            self.storage_event(true, false, summary, detail);
        }
    }
}
