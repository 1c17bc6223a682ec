//! Streams of `s3` objects: a reader fed by a download, and a writer that
//! uploads in parts (multipart) and aborts what it began when dropped unfinished.

use super::*;

pub(super) struct ChannelReader {
    pub(super) rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
    pub(super) cur: Vec<u8>,
    pub(super) pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => {
                    self.cur = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

pub(super) struct S3Writer {
    pub(super) store: S3Store,
    pub(super) key: String,
    pub(super) deadline: Instant,
    pub(super) buf: Vec<u8>,
    pub(super) upload_id: Option<String>,
    /// The marker naming the upload's owner, once written.
    pub(super) marker: Option<String>,
    pub(super) next_part: i32,
    pub(super) parts: Vec<CompletedPart>,
    pub(super) in_flight: JoinSet<Result<CompletedPart, String>>,
    pub(super) done: bool,
}

impl S3Writer {
    /// Sends the buffer as the next part, waiting first when enough parts
    /// are on their way.
    pub(super) fn send_part(&mut self) -> Result<(), String> {
        let s = self.store.clone();
        let full = s.full_key(&self.key);
        if self.upload_id.is_none() {
            let r = block(self.deadline, async {
                s.client
                    .create_multipart_upload()
                    .bucket(&s.bucket)
                    .key(&full)
                    .metadata(OWNER_META, s.owner.tag())
                    .send()
                    .await
                    .map_err(|e| s.fail("write", &self.key, &e))
            })?;
            let id = r
                .upload_id()
                .ok_or_else(|| format!("storage `{}`: the server gave no upload id", s.name))?
                .to_string();
            self.upload_id = Some(id.clone());
            // The owner of the upload, for a sweep after a crash: the
            // server keeps no readable record of who started it.
            self.marker = Some(s.put_marker(&self.key, &id, self.deadline)?);
        }
        while self.in_flight.len() >= MAX_IN_FLIGHT {
            self.wait_one()?;
        }
        let data = std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(part_size(self.next_part + 1)),
        );
        let number = self.next_part;
        self.next_part += 1;
        let req = s
            .client
            .upload_part()
            .bucket(&s.bucket)
            .key(&full)
            .upload_id(self.upload_id.clone().unwrap_or_default())
            .part_number(number)
            .body(ByteStream::from(data));
        let store = s;
        let key = self.key.clone();
        let until = tokio::time::Instant::from_std(self.deadline);
        self.in_flight.spawn_on(
            async move {
                match tokio::time::timeout_at(until, req.send()).await {
                    Err(_) => Err(format!(
                        "storage `{}`: uploading `{key}`: timed out (the step's deadline)",
                        store.name
                    )),
                    Ok(Err(e)) => Err(store.fail("write", &key, &e)),
                    Ok(Ok(r)) => Ok(CompletedPart::builder()
                        .set_e_tag(r.e_tag().map(str::to_string))
                        .part_number(number)
                        .build()),
                }
            },
            rt().handle(),
        );
        Ok(())
    }

    pub(super) fn wait_one(&mut self) -> Result<(), String> {
        let r = rt().block_on(self.in_flight.join_next());
        match r {
            None => Ok(()),
            Some(Ok(Ok(part))) => {
                self.parts.push(part);
                Ok(())
            }
            Some(Ok(Err(e))) => Err(e),
            Some(Err(e)) => Err(format!(
                "storage `{}`: an upload task failed: {e}",
                self.store.name
            )),
        }
    }
}

impl Write for S3Writer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let size = part_size(self.next_part);
        let n = data.len().min(size - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == size {
            self.send_part().map_err(io::Error::other)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for S3Writer {
    fn commit(mut self: Box<Self>) -> Result<(), String> {
        if self.upload_id.is_none() {
            let data = std::mem::take(&mut self.buf);
            self.store.put(&self.key, data, self.deadline)?;
            self.done = true;
            return Ok(());
        }
        if !self.buf.is_empty() {
            self.send_part()?;
        }
        while !self.in_flight.is_empty() {
            self.wait_one()?;
        }
        let mut parts = std::mem::take(&mut self.parts);
        parts.sort_by_key(|p| p.part_number());
        let s = self.store.clone();
        let id = self.upload_id.clone().unwrap_or_default();
        let key = self.key.clone();
        block(self.deadline, async {
            s.client
                .complete_multipart_upload()
                .bucket(&s.bucket)
                .key(s.full_key(&key))
                .upload_id(id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s.fail("write", &key, &e))
        })?;
        self.done = true;
        if let Some(m) = self.marker.take() {
            let _ = s.delete(
                &m,
                self.deadline.max(Instant::now() + Duration::from_secs(30)),
            );
        }
        Ok(())
    }
}

impl Drop for S3Writer {
    /// An upload that did not complete is aborted, so no object appears and
    /// the server frees the parts.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.in_flight.abort_all();
        if let Some(id) = self.upload_id.take() {
            let s = &self.store;
            let deadline = Instant::now() + std::time::Duration::from_secs(30);
            let _ = block(deadline, async {
                s.client
                    .abort_multipart_upload()
                    .bucket(&s.bucket)
                    .key(s.full_key(&self.key))
                    .upload_id(id)
                    .send()
                    .await
                    .map_err(|e| s.fail("abort", &self.key, &e))
            });
        }
        if let Some(m) = self.marker.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            let _ = self.store.delete(&m, deadline);
        }
    }
}
