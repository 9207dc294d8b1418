//! Arrival processes of the workload: when clients send requests.
//!
//! Two families:
//! - **Open** processes ([`Process::Poisson`], [`Process::Constant`],
//!   [`Process::Bursts`], [`Process::Daily`], [`Process::Ramp`],
//!   [`Process::Trace`]): arrival times do not depend on the system;
//!   [`Arrivals::next`] yields them one after another.
//! - **Closed** processes ([`Process::Closed`], [`Process::Population`]):
//!   a fixed set of users, each with at most one request outstanding; a
//!   user sends again only after its request ends (answered or given up),
//!   so the driver (the world) schedules each user's next send from the
//!   end of its request ([`ClosedLoop`]).
//!
//! Every draw comes from the stream the caller passes (the run's
//! `workload` stream), and every transcendental function from `libm`, so a
//! seed gives the same arrivals on every machine. Non-homogeneous rates
//! (`daily`, `ramp`, the `off` state of `bursts`) are exact: thinning
//! (Lewis and Shedler 1979) of a Poisson process at the peak rate, or, for
//! piecewise-constant rates, restarting the exponential clock at each
//! switch (exact by memorylessness).

use std::sync::Arc;

use rand_core::Rng;
use rehearsal_runtime::Nanos;

use crate::dist::{Dist, unit_f64};

const NS_PER_S: f64 = 1e9;

/// How `bursts` switches between its on and off states.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Switching {
    /// On for exactly `on`, off for exactly `off`, repeating from t = 0 (on).
    Fixed,
    /// A two-state Markov chain (a Markov-modulated Poisson process): each
    /// stay on or off is exponential with mean `on` or `off`; on at t = 0.
    Markov,
}

/// An arrival process, as the scenario describes it. Rates are requests
/// per simulated second; times are nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum Process {
    /// Exponential gaps with mean `1 / rate_per_s`.
    Poisson { rate_per_s: f64 },
    /// Exactly evenly spaced: arrival `k` (from 0) at `k / rate_per_s`
    /// (rounded to the nanosecond), the first at t = 0.
    Constant { rate_per_s: f64 },
    /// Poisson at `on_rate_per_s` while on and `off_rate_per_s` (maybe 0)
    /// while off.
    Bursts { on_rate_per_s: f64, off_rate_per_s: f64, on_ns: Nanos, off_ns: Nanos, switching: Switching },
    /// Poisson with rate `mean + amplitude * sin(2 pi (t + phase) / period)`
    /// (`0 <= amplitude <= mean`), by thinning.
    Daily { mean_rate_per_s: f64, amplitude_per_s: f64, period_ns: Nanos, phase_ns: Nanos },
    /// Poisson with a rate going linearly from `from_rate_per_s` at t = 0
    /// to `to_rate_per_s` at the end of the arrival window, by thinning.
    Ramp { from_rate_per_s: f64, to_rate_per_s: f64 },
    /// `users` users; each first sends after one think time (so they do
    /// not all start at once), then, each time its request ends, thinks for
    /// a time drawn from `think` and sends again.
    Closed { users: u32, think: Dist },
    /// `clients` clients that all send at t = 0; with `repeat`, each sends
    /// again the instant its request ends (a closed loop with zero think
    /// time).
    Population { clients: u32, repeat: bool },
    /// Replay: arrivals at these times (sorted, nanoseconds from the start;
    /// already scaled).
    Trace { times: Arc<[Nanos]> },
}

impl Process {
    /// The closed loop of a closed process, `None` for an open one.
    pub fn closed_loop(&self) -> Option<ClosedLoop> {
        match self {
            Process::Closed { users, think } => {
                Some(ClosedLoop { users: *users, think: think.clone(), start_together: false, repeat: true })
            }
            Process::Population { clients, repeat } => Some(ClosedLoop {
                users: *clients,
                think: Dist::Constant { value: 0.0 },
                start_together: true,
                repeat: *repeat,
            }),
            _ => None,
        }
    }

    /// The mean arrival rate over a window of `window_ns`, in closed form,
    /// for an open process (`None` for a closed one: its rate depends on
    /// the system's response times).
    pub fn mean_rate_per_s(&self, window_ns: Nanos) -> Option<f64> {
        let w = window_ns as f64;
        Some(match self {
            Process::Poisson { rate_per_s } | Process::Constant { rate_per_s } => *rate_per_s,
            Process::Bursts { on_rate_per_s, off_rate_per_s, on_ns, off_ns, .. } => {
                (on_rate_per_s * *on_ns as f64 + off_rate_per_s * *off_ns as f64) / (*on_ns + *off_ns) as f64
            }
            Process::Daily { mean_rate_per_s, .. } => *mean_rate_per_s,
            Process::Ramp { from_rate_per_s, to_rate_per_s } => (from_rate_per_s + to_rate_per_s) / 2.0,
            Process::Trace { times } => times.iter().filter(|&&t| t < window_ns).count() as f64 / (w / NS_PER_S),
            Process::Closed { .. } | Process::Population { .. } => return None,
        })
    }
}

/// A closed process's users: how they start and how long they think.
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedLoop {
    pub users: u32,
    /// Think time between the end of a request and the user's next one, ns.
    pub think: Dist,
    /// All users send at t = 0 (else each after one think time).
    pub start_together: bool,
    /// Users send again after each request ends (else once only).
    pub repeat: bool,
}

impl ClosedLoop {
    /// When a user sends its first request.
    pub fn first_send<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        if self.start_together { 0 } else { self.think.sample_u64(rng) }
    }

    /// When a user whose request ended at `now` sends again, if it does.
    pub fn next_send<R: Rng + ?Sized>(&self, now: Nanos, rng: &mut R) -> Option<Nanos> {
        self.repeat.then(|| now.saturating_add(self.think.sample_u64(rng)))
    }
}

/// The state of an open process: yields arrival times in order, up to the
/// end of the arrival window.
#[derive(Clone, Debug)]
pub struct Arrivals {
    process: Process,
    /// Arrivals happen in `[0, end)`.
    end: Nanos,
    /// The last arrival (or a time the process restarted from).
    t: Nanos,
    /// Arrivals yielded so far.
    count: u64,
    /// `bursts`: the current state and when it ends.
    on: bool,
    state_end: Nanos,
}

impl Arrivals {
    /// The open arrivals of `process` in `[0, end)`. A closed process
    /// yields none here (see [`Process::closed_loop`]).
    pub fn new<R: Rng + ?Sized>(process: &Process, end: Nanos, rng: &mut R) -> Self {
        let mut a = Arrivals { process: process.clone(), end, t: 0, count: 0, on: true, state_end: Nanos::MAX };
        if let Process::Bursts { on_ns, switching, .. } = process {
            // Drawn here, before any gap, only for the Markov chain (a
            // fixed schedule draws nothing).
            a.state_end = a.stay(*on_ns, *switching, rng);
        }
        a
    }

    /// The duration of one stay in a `bursts` state (at least 1 ns).
    fn stay<R: Rng + ?Sized>(&self, mean_ns: Nanos, switching: Switching, rng: &mut R) -> Nanos {
        match switching {
            Switching::Fixed => mean_ns.max(1),
            Switching::Markov => Dist::Exponential { mean: mean_ns as f64 }.sample_u64(rng).max(1),
        }
    }

    /// An exponential gap at `rate_per_s` (> 0): at least 1 ns, so arrivals
    /// are strictly ordered in time. (The draw of the original Poisson
    /// arrivals, unchanged: a seed replays the same times.)
    #[inline]
    fn gap<R: Rng + ?Sized>(rate_per_s: f64, rng: &mut R) -> Nanos {
        Dist::Exponential { mean: NS_PER_S / rate_per_s }.sample_u64(rng).max(1)
    }

    /// The next arrival time, or `None` once past the window (or for a
    /// closed process).
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<Nanos> {
        let t = match self.process {
            Process::Poisson { rate_per_s } => {
                self.t = self.t.saturating_add(Self::gap(rate_per_s, rng));
                self.t
            }
            Process::Constant { rate_per_s } => {
                let t = libm::round(self.count as f64 * (NS_PER_S / rate_per_s));
                if t >= self.end as f64 {
                    return None;
                }
                t as Nanos
            }
            Process::Bursts { on_rate_per_s, off_rate_per_s, on_ns, off_ns, switching } => loop {
                if self.t >= self.end {
                    return None;
                }
                let rate = if self.on { on_rate_per_s } else { off_rate_per_s };
                if rate > 0.0 {
                    let at = self.t.saturating_add(Self::gap(rate, rng));
                    if at < self.state_end {
                        self.t = at;
                        break at;
                    }
                }
                // The state ends before the next arrival: restart the
                // clock from the switch (memoryless, so exact).
                self.t = self.state_end;
                self.on = !self.on;
                let stay = self.stay(if self.on { on_ns } else { off_ns }, switching, rng);
                self.state_end = self.t.saturating_add(stay);
            },
            Process::Daily { mean_rate_per_s, amplitude_per_s, period_ns, phase_ns } => {
                let rate = |t: Nanos| {
                    let x = (t % period_ns + phase_ns % period_ns) % period_ns;
                    let angle = 2.0 * core::f64::consts::PI * (x as f64 / period_ns as f64);
                    mean_rate_per_s + amplitude_per_s * libm::sin(angle)
                };
                self.thin(mean_rate_per_s + amplitude_per_s, rate, rng)?
            }
            Process::Ramp { from_rate_per_s, to_rate_per_s } => {
                let end = self.end.max(1) as f64;
                let rate = |t: Nanos| from_rate_per_s + (to_rate_per_s - from_rate_per_s) * (t as f64 / end);
                self.thin(from_rate_per_s.max(to_rate_per_s), rate, rng)?
            }
            Process::Trace { ref times } => *times.get(self.count as usize)?,
            Process::Closed { .. } | Process::Population { .. } => return None,
        };
        self.count += 1;
        (t < self.end).then_some(t)
    }

    /// Lewis-Shedler thinning: candidates from a Poisson process at
    /// `max_rate` (>= `rate(t)` everywhere), each kept with probability
    /// `rate(t) / max_rate`. Exact for any bounded rate function.
    fn thin<R: Rng + ?Sized>(&mut self, max_rate: f64, rate: impl Fn(Nanos) -> f64, rng: &mut R) -> Option<Nanos> {
        if max_rate <= 0.0 {
            return None;
        }
        loop {
            self.t = self.t.saturating_add(Self::gap(max_rate, rng));
            if self.t >= self.end {
                return None;
            }
            if unit_f64(rng) * max_rate < rate(self.t) {
                return Some(self.t);
            }
        }
    }
}

/// Why an arrival trace could not be read by [`load_arrival_times`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrivalTraceError {
    /// 1-based line in the CSV text.
    pub line: usize,
    pub message: String,
}

/// Parses a CSV of arrival times into nanoseconds from the start, sorted.
///
/// The first column of each row is the arrival time; other columns are
/// ignored. Either every row's time is a timestamp `YYYY-MM-DD HH:MM:SS[.f]`
/// (a `T` may replace the space, a trailing `Z` is ignored; the Azure LLM
/// inference trace format `TIMESTAMP,ContextTokens,GeneratedTokens`), taken
/// relative to the earliest one (which arrives at t = 0), or every row's
/// time is a number of seconds >= 0 since the start, taken as is. A first
/// line that is neither is a header; blank lines are skipped.
pub fn load_arrival_times(text: &str) -> Result<Vec<Nanos>, ArrivalTraceError> {
    #[derive(Copy, Clone, PartialEq)]
    enum Kind {
        Stamps,
        Seconds,
    }
    let mut kind = None;
    let mut raw: Vec<i128> = Vec::new();
    let mut first_row = true;
    for (i, row) in text.lines().enumerate() {
        let line = i + 1;
        let row = row.trim();
        if row.is_empty() {
            continue;
        }
        let field = row.split(',').next().unwrap_or("").trim();
        let parsed = if let Some(ns) = parse_timestamp(field) {
            Some((Kind::Stamps, ns))
        } else if let Ok(s) = field.parse::<f64>() {
            if !(s.is_finite() && (0.0..=1e9).contains(&s)) {
                return Err(ArrivalTraceError {
                    line,
                    message: format!("time {field:?}: expected seconds from 0 to 1e9"),
                });
            }
            Some((Kind::Seconds, libm::round(s * NS_PER_S) as i128))
        } else {
            None
        };
        let was_first = std::mem::replace(&mut first_row, false);
        match parsed {
            None if was_first => {} // a header
            None => {
                return Err(ArrivalTraceError {
                    line,
                    message: format!(
                        "time {field:?}: expected a timestamp such as 2023-11-16 18:17:03.98 or a number of seconds"
                    ),
                });
            }
            Some((k, ns)) => {
                let expected = kind.get_or_insert(k);
                if *expected != k {
                    return Err(ArrivalTraceError {
                        line,
                        message: format!("time {field:?}: mixes timestamps and seconds; use one kind per file"),
                    });
                }
                raw.push(ns);
            }
        }
    }
    if raw.is_empty() {
        return Err(ArrivalTraceError {
            line: text.lines().count().max(1),
            message: "no arrivals in the trace".into(),
        });
    }
    raw.sort_unstable();
    let origin = if kind == Some(Kind::Stamps) { raw[0] } else { 0 };
    Ok(raw.into_iter().map(|ns| u64::try_from(ns - origin).unwrap_or(u64::MAX)).collect())
}

/// `times` (ns) multiplied by `time_scale` (> 0): 0.5 plays twice as fast.
pub fn scale_times(times: &[Nanos], time_scale: f64) -> Arc<[Nanos]> {
    times
        .iter()
        .map(|&t| {
            let x = libm::round(t as f64 * time_scale);
            if x >= u64::MAX as f64 { u64::MAX } else { x as u64 }
        })
        .collect()
}

/// Nanoseconds since 1970-01-01 of `YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z]`
/// (UTC, proleptic Gregorian), or `None`.
fn parse_timestamp(s: &str) -> Option<i128> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':');
    let (h, mi, sec) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_ns = if frac.is_empty() { 0 } else { frac.parse::<i128>().ok()? * 10i128.pow(9 - frac.len() as u32) };
    let days = days_from_civil(y as i64, m as i64, day as i64) as i128;
    Some(((days * 86_400 + (h * 3600 + mi * 60 + sec) as i128) * 1_000_000_000) + frac_ns)
}

/// A number of exactly `digits` ASCII digits.
fn num(s: &str, digits: usize) -> Option<u32> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
