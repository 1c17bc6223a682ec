//! Waiting, with a timeout, until programs are up (and a URL answers) or
//! down: the backend's state is looked at again after 50 ms, then after
//! twice as long each time, up to every `interval`: a program that is up
//! at once is not waited for half a second.

use std::time::Instant;

use cairn_sdk::prelude::*;

use crate::{Backend, Class, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Program, ServiceArgs};

/// The first pause between two looks.
const FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// The longest pause between two requests to `ready-url` (an app that is
/// up is found at most this late; a request to it is cheap).
const URL_PAUSE_CAP: std::time::Duration = std::time::Duration::from_millis(200);

pub(crate) struct Wait {
    /// When the action began: the timeout counts from there, commands
    /// included.
    pub began: Instant,
    pub timeout: std::time::Duration,
    pub interval: std::time::Duration,
    pub ready_url: Option<String>,
    pub ready_status: Vec<u16>,
    pub dry_run: bool,
}

impl Wait {
    pub fn from_args(a: &ServiceArgs, dry_run: bool) -> Result<Self, PluginError> {
        if let Some(url) = &a.ready_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(PluginError::arg(
                "ready-url",
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        let interval = a.interval.map_or(DEFAULT_INTERVAL, Into::into);
        if interval.is_zero() {
            return Err(PluginError::arg("interval", "must be more than 0s"));
        }
        Ok(Wait {
            began: Instant::now(),
            timeout: a.timeout.map_or(DEFAULT_TIMEOUT, Into::into),
            interval,
            ready_url: a.ready_url.clone(),
            ready_status: a.ready_status.clone(),
            dry_run,
        })
    }

    /// What is left of the timeout (at least a second, for a command).
    pub fn left(&self) -> std::time::Duration {
        (self.began + self.timeout)
            .saturating_duration_since(Instant::now())
            .max(std::time::Duration::from_secs(1))
    }

    /// The pause after the `attempt`-th look (0 for the first), at most
    /// `cap` (and `interval`).
    pub fn step(&self, attempt: u32, cap: std::time::Duration) -> std::time::Duration {
        FIRST_PAUSE
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.interval)
            .min(cap)
    }

    fn pause(&self, deadline: Instant, attempt: &mut u32, cap: std::time::Duration) {
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(self.step(*attempt, cap).min(left));
        *attempt += 1;
    }

    /// Until every program is running, then until `ready-url` answers. A
    /// program that gives up (`FATAL`, `failed`) fails at once, with the
    /// end of its log.
    pub fn until_ready(
        &self,
        host: &dyn Host,
        backend: &dyn Backend,
        names: &[String],
    ) -> Result<Vec<Program>, PluginError> {
        let deadline = self.began + self.timeout;
        let mut attempt = 0;
        let progs = loop {
            let progs = backend.state(host, names)?;
            if let Some(p) = progs.iter().find(|p| p.class == Class::Failed) {
                let why = backend.why(host, p);
                return Err(PluginError::new(format!(
                    "{} `{}` did not start: {}{}{}",
                    backend.name(),
                    p.name,
                    p.state,
                    detail(p),
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!("; its log ends with: {why}")
                    }
                )));
            }
            if progs.iter().all(|p| p.class == Class::Running) {
                break progs;
            }
            if Instant::now() >= deadline {
                let waiting: Vec<String> = progs
                    .iter()
                    .filter(|p| p.class != Class::Running)
                    .map(|p| format!("`{}` is {}{}", p.name, p.state, detail(p)))
                    .collect();
                let why = progs
                    .iter()
                    .find(|p| p.class != Class::Running)
                    .map(|p| backend.why(host, p))
                    .unwrap_or_default();
                return Err(PluginError::new(format!(
                    "{} programs not running after {}: {}{}",
                    backend.name(),
                    secs(self.timeout),
                    waiting.join(", "),
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!("; its log ends with: {why}")
                    }
                )));
            }
            self.pause(deadline, &mut attempt, backend.look_pause_cap());
        };
        if let Some(url) = &self.ready_url {
            self.until_url(host, url, deadline)?;
        }
        Ok(progs)
    }

    fn until_url(&self, host: &dyn Host, url: &str, deadline: Instant) -> Result<(), PluginError> {
        let per_request = self.interval.max(std::time::Duration::from_secs(5));
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let req = Request::get(url).timeout(
                per_request
                    .min(left)
                    .max(std::time::Duration::from_millis(100)),
            );
            let last = match host.http(&req) {
                Ok(r) if self.ready_status.contains(&r.status) => return Ok(()),
                Ok(r) => format!("answered {}", r.status),
                Err(e) => e.message,
            };
            if Instant::now() >= deadline {
                let want: Vec<String> = self.ready_status.iter().map(u16::to_string).collect();
                return Err(PluginError::new(format!(
                    "the programs run, but `{url}` did not answer {} within {}: {last}",
                    want.join(" or "),
                    secs(self.timeout)
                )));
            }
            self.pause(deadline, &mut attempt, URL_PAUSE_CAP);
        }
    }

    /// Until no program of `names` runs any more.
    pub fn until_stopped(
        &self,
        host: &dyn Host,
        backend: &dyn Backend,
        names: &[String],
    ) -> Result<Vec<Program>, PluginError> {
        let deadline = self.began + self.timeout;
        let mut attempt = 0;
        loop {
            let progs = backend.state(host, names)?;
            if progs
                .iter()
                .all(|p| matches!(p.class, Class::Stopped | Class::Failed))
            {
                return Ok(progs);
            }
            if Instant::now() >= deadline {
                let up: Vec<String> = progs
                    .iter()
                    .filter(|p| !matches!(p.class, Class::Stopped | Class::Failed))
                    .map(|p| format!("`{}` is {}{}", p.name, p.state, detail(p)))
                    .collect();
                return Err(PluginError::new(format!(
                    "{} programs still not stopped after {}: {}",
                    backend.name(),
                    secs(self.timeout),
                    up.join(", ")
                )));
            }
            self.pause(deadline, &mut attempt, backend.look_pause_cap());
        }
    }
}

fn detail(p: &Program) -> String {
    if p.detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", p.detail)
    }
}

fn secs(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}
