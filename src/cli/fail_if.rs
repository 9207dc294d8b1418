//! `sweep --fail-if "METRIC OP NUMBER"`: a metric threshold that turns a
//! seed into a failure (with its replay line), beyond broken invariants.
//! METRIC is any metric of the reports (`success_rate`, `latency_ms.p99`,
//! `tokens.cost`, ...: see `crate::report::metrics`), OP one of `<`,
//! `<=`, `>`, `>=`, `==`, `!=`.

use crate::report::metrics::{METRICS, Metric, metric};
use crate::summary::RunSummary;

/// One parsed condition.
#[derive(Clone, Copy, Debug)]
pub struct FailIf {
    metric: &'static Metric,
    op: Op,
    value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

impl std::str::FromStr for FailIf {
    type Err = String;
    fn from_str(text: &str) -> Result<FailIf, String> {
        let usage = || format!("--fail-if: `{text}` is not METRIC OP NUMBER, e.g. \"success_rate < 0.95\"");
        // Two-character operators first.
        let ops = [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), (">", Op::Gt)];
        let (at, len, op) = ops
            .iter()
            .filter_map(|&(s, op)| text.find(s).map(|at| (at, s.len(), op)))
            .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)))
            .ok_or_else(usage)?;
        let (name, value) = (text[..at].trim(), text[at + len..].trim());
        let metric = metric(name).ok_or_else(|| {
            let names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
            format!("--fail-if: unknown metric `{name}`; metrics: {}", names.join(", "))
        })?;
        let value: f64 = value.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(usage)?;
        Ok(FailIf { metric, op, value })
    }
}

impl FailIf {
    /// Why `run` fails this condition, if it does. A metric a run does not
    /// define (a success rate with no request) does not fail it.
    pub fn failure(&self, run: &RunSummary) -> Option<String> {
        let v = (self.metric.value)(run)?;
        self.op
            .holds(v, self.value)
            .then(|| format!("fail-if: {} = {} {} {}", self.metric.name, round(v), self.op.text(), self.value))
    }
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_hold() {
        let f: FailIf = "success_rate < 0.95".parse().unwrap();
        let mut run = RunSummary::default();
        run.requests.arrived = 100;
        run.requests.succeeded = 90;
        assert_eq!(f.failure(&run).as_deref(), Some("fail-if: success_rate = 0.9 < 0.95"));
        run.requests.succeeded = 96;
        assert_eq!(f.failure(&run), None);
        let g: FailIf = "latency_ms.p99>=2000".parse().unwrap();
        run.latency_ms.p99 = 2000.0;
        assert!(g.failure(&run).is_some());
        assert!("speed < 1".parse::<FailIf>().unwrap_err().contains("unknown metric"));
        assert!("success_rate ~ 1".parse::<FailIf>().is_err());
        assert!("success_rate < x".parse::<FailIf>().is_err());
    }
}
