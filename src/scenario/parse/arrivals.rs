//! `workload.arrivals = { process = "...", ... }`: the arrival process.
//!
//! Every key is optional in the raw form; which keys a process needs, and
//! which it accepts, is checked here, with errors located at the key (or,
//! for a missing one, at `process`). The processes themselves are
//! [`rehearsal_sim::arrivals`]; the format is in `docs/scenario.md`.

use rehearsal_sim::arrivals::{Switching, load_arrival_times, scale_times};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{Ctx, DistKind, RawDist, RawDuration, Result, Spanned, choice_hint, echo, expected_text, list};
use crate::scenario::model::ArrivalProcess;

/// Upper bound on every arrival rate (`rate_per_s`, `on_rate_per_s`, ...),
/// in requests per simulated second: one a nanosecond, the clock's
/// resolution (gaps are at least 1 ns). A run near it ends on a named
/// limit (`max_queued_events`, `max_events`), not by exhausting memory.
pub const MAX_ARRIVAL_RATE_PER_S: f64 = 1e9;
/// Upper bound on `users` (`closed`) and `clients` (`population`): each
/// user holds one event in the queue at the start.
pub const MAX_USERS: u64 = 1_000_000;
/// Bounds on `time_scale` (`trace`).
pub const MAX_TIME_SCALE: f64 = 1e6;
/// Upper bound on `period` (`daily`): a year.
const MAX_PERIOD_NS: u64 = 365 * 24 * 3600 * 1_000_000_000;

/// The processes and the keys each accepts, `process` aside; the first
/// keys listed are required, up to the count.
pub(super) const PROCESSES: &[(&str, usize, &[&str])] = &[
    ("poisson", 1, &["rate_per_s"]),
    ("constant", 1, &["rate_per_s"]),
    ("bursts", 3, &["on_rate_per_s", "on", "off", "off_rate_per_s", "switching"]),
    ("daily", 2, &["mean_rate_per_s", "amplitude_per_s", "period", "phase"]),
    ("ramp", 2, &["from_rate_per_s", "to_rate_per_s"]),
    ("closed", 2, &["users", "think"]),
    ("population", 1, &["clients", "repeat"]),
    ("trace", 1, &["csv", "time_scale"]),
];

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArrivals {
    process: Spanned<String>,
    rate_per_s: Option<Spanned<f64>>,
    on_rate_per_s: Option<Spanned<f64>>,
    off_rate_per_s: Option<Spanned<f64>>,
    on: Option<Spanned<RawDuration>>,
    off: Option<Spanned<RawDuration>>,
    switching: Option<Spanned<String>>,
    mean_rate_per_s: Option<Spanned<f64>>,
    amplitude_per_s: Option<Spanned<f64>>,
    period: Option<Spanned<RawDuration>>,
    phase: Option<Spanned<RawDuration>>,
    from_rate_per_s: Option<Spanned<f64>>,
    to_rate_per_s: Option<Spanned<f64>>,
    users: Option<Spanned<i64>>,
    think: Option<Spanned<RawDist<RawDuration>>>,
    clients: Option<Spanned<i64>>,
    repeat: Option<Spanned<bool>>,
    csv: Option<Spanned<String>>,
    time_scale: Option<Spanned<f64>>,
}

impl RawArrivals {
    /// Each key given, with the start of its value.
    fn given(&self) -> Vec<(&'static str, usize)> {
        let s = |v: Option<std::ops::Range<usize>>| v.map(|r| r.start);
        let keys = [
            ("rate_per_s", s(self.rate_per_s.as_ref().map(Spanned::span))),
            ("on_rate_per_s", s(self.on_rate_per_s.as_ref().map(Spanned::span))),
            ("off_rate_per_s", s(self.off_rate_per_s.as_ref().map(Spanned::span))),
            ("on", s(self.on.as_ref().map(Spanned::span))),
            ("off", s(self.off.as_ref().map(Spanned::span))),
            ("switching", s(self.switching.as_ref().map(Spanned::span))),
            ("mean_rate_per_s", s(self.mean_rate_per_s.as_ref().map(Spanned::span))),
            ("amplitude_per_s", s(self.amplitude_per_s.as_ref().map(Spanned::span))),
            ("period", s(self.period.as_ref().map(Spanned::span))),
            ("phase", s(self.phase.as_ref().map(Spanned::span))),
            ("from_rate_per_s", s(self.from_rate_per_s.as_ref().map(Spanned::span))),
            ("to_rate_per_s", s(self.to_rate_per_s.as_ref().map(Spanned::span))),
            ("users", s(self.users.as_ref().map(Spanned::span))),
            ("think", s(self.think.as_ref().map(Spanned::span))),
            ("clients", s(self.clients.as_ref().map(Spanned::span))),
            ("repeat", s(self.repeat.as_ref().map(Spanned::span))),
            ("csv", s(self.csv.as_ref().map(Spanned::span))),
            ("time_scale", s(self.time_scale.as_ref().map(Spanned::span))),
        ];
        keys.into_iter().filter_map(|(k, at)| at.map(|at| (k, at))).collect()
    }
}

/// `{ process = "NAME", ... }` with the required keys of `process`.
fn example(process: &str) -> &'static str {
    match process {
        "constant" => "{ process = \"constant\", rate_per_s = 20 }",
        "bursts" => "{ process = \"bursts\", on_rate_per_s = 50, on = \"10s\", off = \"50s\" }",
        "daily" => "{ process = \"daily\", mean_rate_per_s = 20, amplitude_per_s = 15 }",
        "ramp" => "{ process = \"ramp\", from_rate_per_s = 1, to_rate_per_s = 40 }",
        "closed" => "{ process = \"closed\", users = 50, think = { dist = \"exponential\", mean = \"5s\" } }",
        "population" => "{ process = \"population\", clients = 100 }",
        "trace" => "{ process = \"trace\", csv = \"arrivals.csv\", time_scale = 1.0 }",
        _ => "{ process = \"poisson\", rate_per_s = 20 }",
    }
}

impl Ctx<'_> {
    /// The checked arrival process of `workload.arrivals`.
    pub(super) fn arrivals(&self, raw: &RawArrivals) -> Result<ArrivalProcess> {
        let process = raw.process.get_ref().as_str();
        let names: Vec<&str> = PROCESSES.iter().map(|p| p.0).collect();
        let Some(&(_, required, keys)) = PROCESSES.iter().find(|p| p.0 == process) else {
            return Err(self.bad(
                &raw.process,
                "workload.arrivals.process",
                expected_text("workload.arrivals.process"),
                Some(choice_hint(process, &names)),
            ));
        };
        // Keys of another process: located at the key's value.
        let given = raw.given();
        if let Some(&(key, at)) = given.iter().find(|(k, _)| !keys.contains(k)) {
            return Err(self.err(
                at,
                format!("key `{key}` does not apply to process `{process}`"),
                format!("keys of `{process}`: {}", list(keys)),
                Some(format!("for example: arrivals = {}", example(process))),
            ));
        }
        if let Some(missing) = keys[..required].iter().find(|k| !given.iter().any(|(g, _)| g == *k)) {
            return Err(self.err(
                raw.process.span().start,
                format!("missing key `{missing}` for arrival process `{process}`"),
                format!("`{process}` needs {}", list(&keys[..required])),
                Some(format!("for example: arrivals = {}", example(process))),
            ));
        }
        let rate = |v: &Option<Spanned<f64>>, key: &str, zero_ok: bool| -> Result<f64> {
            let Some(v) = v else { return Ok(0.0) };
            self.rate(v, &format!("workload.arrivals.{key}"), zero_ok)
        };
        Ok(match process {
            "poisson" => ArrivalProcess::Poisson { rate_per_s: rate(&raw.rate_per_s, "rate_per_s", false)? },
            "constant" => ArrivalProcess::Constant { rate_per_s: rate(&raw.rate_per_s, "rate_per_s", false)? },
            "bursts" => {
                let dur = |v: &Option<Spanned<RawDuration>>, key: &str| match v {
                    Some(v) => self.positive_duration(v, &format!("workload.arrivals.{key}")),
                    None => Ok(0),
                };
                let switching = match &raw.switching {
                    None => Switching::Fixed,
                    Some(v) => match v.get_ref().as_str() {
                        "fixed" => Switching::Fixed,
                        "markov" => Switching::Markov,
                        other => {
                            return Err(self.bad(
                                v,
                                "workload.arrivals.switching",
                                expected_text("workload.arrivals.switching"),
                                Some(choice_hint(other, &["fixed", "markov"])),
                            ));
                        }
                    },
                };
                ArrivalProcess::Bursts {
                    on_rate_per_s: rate(&raw.on_rate_per_s, "on_rate_per_s", false)?,
                    off_rate_per_s: rate(&raw.off_rate_per_s, "off_rate_per_s", true)?,
                    on_ns: dur(&raw.on, "on")?,
                    off_ns: dur(&raw.off, "off")?,
                    switching,
                }
            }
            "daily" => {
                let mean = rate(&raw.mean_rate_per_s, "mean_rate_per_s", false)?;
                let amplitude = rate(&raw.amplitude_per_s, "amplitude_per_s", true)?;
                if amplitude > mean {
                    let v = raw.amplitude_per_s.as_ref().expect("required");
                    return Err(self.bad(
                        v,
                        "workload.arrivals.amplitude_per_s",
                        "an amplitude from 0 to `mean_rate_per_s`",
                        Some(format!(
                            "the rate swings from mean - amplitude to mean + amplitude and cannot go below 0; \
                             here the mean is {mean}"
                        )),
                    ));
                }
                let period_ns = match &raw.period {
                    Some(v) => {
                        let ns = self.positive_duration(v, "workload.arrivals.period")?;
                        if ns > MAX_PERIOD_NS {
                            return Err(self.bad(
                                v,
                                "workload.arrivals.period",
                                expected_text("workload.arrivals.period"),
                                Some("a period is at most a year, e.g. \"24h\" or \"168h\"".into()),
                            ));
                        }
                        ns
                    }
                    None => 24 * 3600 * 1_000_000_000,
                };
                let phase_ns = match &raw.phase {
                    Some(v) => self.duration(v, "workload.arrivals.phase")? % period_ns,
                    None => 0,
                };
                ArrivalProcess::Daily { mean_rate_per_s: mean, amplitude_per_s: amplitude, period_ns, phase_ns }
            }
            "ramp" => {
                let from = rate(&raw.from_rate_per_s, "from_rate_per_s", true)?;
                let to = rate(&raw.to_rate_per_s, "to_rate_per_s", true)?;
                if from == 0.0 && to == 0.0 {
                    let v = raw.to_rate_per_s.as_ref().expect("required");
                    return Err(self.bad(
                        v,
                        "workload.arrivals.to_rate_per_s",
                        "a rate > 0 at one end of the ramp at least",
                        Some("a ramp from 0 to 0 sends nothing; e.g. from_rate_per_s = 0, to_rate_per_s = 40".into()),
                    ));
                }
                ArrivalProcess::Ramp { from_rate_per_s: from, to_rate_per_s: to }
            }
            "closed" => {
                let users = self.users(raw.users.as_ref().expect("required"), "workload.arrivals.users")?;
                let think =
                    self.dist(raw.think.as_ref().expect("required"), "workload.arrivals.think", DistKind::Latency)?;
                ArrivalProcess::Closed { users, think }
            }
            "population" => {
                let clients = self.users(raw.clients.as_ref().expect("required"), "workload.arrivals.clients")?;
                ArrivalProcess::Population { clients, repeat: raw.repeat.as_ref().is_some_and(|r| *r.get_ref()) }
            }
            _ => {
                let csv = raw.csv.as_ref().expect("required");
                let scale = match &raw.time_scale {
                    None => 1.0,
                    Some(v) => {
                        let x = *v.get_ref();
                        if !(x.is_finite() && x > 0.0 && x <= MAX_TIME_SCALE) {
                            return Err(self.bad(
                                v,
                                "workload.arrivals.time_scale",
                                expected_text("workload.arrivals.time_scale"),
                                Some(
                                    "times are multiplied by it: 0.5 plays the trace twice as fast, 2 half as fast"
                                        .into(),
                                ),
                            ));
                        }
                        x
                    }
                };
                let (file, text) = self.read_csv(csv, "workload.arrivals.csv", "arrival times")?;
                let times = load_arrival_times(&text).map_err(|e| {
                    let shown = echo(&file.display().to_string());
                    self.bad(
                        csv,
                        "workload.arrivals.csv",
                        "a CSV file of arrival times: `TIMESTAMP,...` rows (the Azure LLM trace) or seconds",
                        Some(format!("`{shown}` line {}: {}", e.line, echo(&e.message))),
                    )
                })?;
                ArrivalProcess::Trace { times: scale_times(&times, scale) }
            }
        })
    }

    /// An arrival rate: finite, at most [`MAX_ARRIVAL_RATE_PER_S`], > 0
    /// (or >= 0 if `zero_ok`).
    fn rate(&self, v: &Spanned<f64>, path: &str, zero_ok: bool) -> Result<f64> {
        let r = *v.get_ref();
        let low_ok = if zero_ok { r >= 0.0 } else { r > 0.0 };
        if !(r.is_finite() && low_ok) {
            let hint = if path.ends_with(".rate_per_s") {
                "the mean number of new requests per simulated second, e.g. 20 or 0.5".to_owned()
            } else if zero_ok {
                "requests per simulated second, 0 or more, e.g. 20 or 0.5".to_owned()
            } else {
                "requests per simulated second, more than 0, e.g. 20 or 0.5".to_owned()
            };
            return Err(self.bad(v, path, expected_text(path), Some(hint)));
        }
        if r > MAX_ARRIVAL_RATE_PER_S {
            return Err(self.bad(
                v,
                path,
                expected_text(path),
                Some(format!("at most {MAX_ARRIVAL_RATE_PER_S:.0} requests per second")),
            ));
        }
        Ok(r)
    }

    /// A number of users or clients, 1 to [`MAX_USERS`].
    fn users(&self, v: &Spanned<i64>, path: &str) -> Result<u32> {
        Ok(self.capped_int(
            v,
            path,
            MAX_USERS,
            "at least 1",
            "each one is a client with a request outstanding at a time",
        )? as u32)
    }
}

#[cfg(test)]
mod tests;
