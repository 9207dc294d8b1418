//! `[[workload.requests]]`: request mixes (several request types with
//! weights, each with its workflow, deadline and key distribution).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Ctx, RawDuration, Result, Spanned};
use crate::scenario::model::{KeyDist, MAX_KEYS, RequestType, ServiceModel, ZipfCdf};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequestType {
    pub(super) name: Spanned<String>,
    weight: Spanned<f64>,
    steps: Option<Spanned<Vec<Spanned<String>>>>,
    /// With `[[roles]]`: this type's own workflow for the entry role.
    pub(super) workflow: Option<Spanned<Vec<Spanned<super::roles::RawStep>>>>,
    deadline: Option<Spanned<RawDuration>>,
    key: Option<Spanned<RawKey>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    dist: Spanned<String>,
    keys: Spanned<i64>,
    s: Option<Spanned<f64>>,
}

impl Ctx<'_> {
    /// Every `[[workload.requests]]` entry, checked; `request_timeout_ns` is
    /// the default deadline.
    pub(super) fn request_types(
        &self,
        raw: &[RawRequestType],
        llms: &[ServiceModel],
        tools: &[ServiceModel],
        request_timeout_ns: u64,
        with_roles: bool,
    ) -> Result<Vec<RequestType>> {
        let mut out: Vec<RequestType> = Vec::with_capacity(raw.len());
        for r in raw {
            let name = self.short_name(&r.name, "workload.requests.name")?;
            if out.iter().any(|t| t.name == name) {
                return Err(self.bad(
                    &r.name,
                    "workload.requests.name",
                    "a name no other request type has",
                    Some(format!("request type `{name}` is declared twice")),
                ));
            }
            let weight = *r.weight.get_ref();
            if !(weight.is_finite() && weight > 0.0) {
                return Err(self.bad(
                    &r.weight,
                    "workload.requests.weight",
                    "a finite number > 0",
                    Some("a type's share of requests is its weight over the sum of all weights".into()),
                ));
            }
            let steps = match (&r.steps, &r.workflow) {
                (Some(_), Some(w)) => {
                    return Err(self.bad(
                        w,
                        "workload.requests.workflow",
                        "either `steps` or `workflow`, not both",
                        Some("`steps` is the simple form of a workflow of calls".into()),
                    ));
                }
                (None, Some(w)) if !with_roles => {
                    return Err(self.bad(
                        w,
                        "workload.requests.workflow",
                        "`steps` (a workflow needs `[[roles]]`)",
                        Some("a request type's `workflow` is run by the entry role of `[[roles]]`".into()),
                    ));
                }
                (None, _) if with_roles => Vec::new(),
                (None, _) => {
                    return Err(self.bad(
                        &r.name,
                        "workload.requests.steps",
                        "`steps = [...]` for this request type",
                        Some("each request type says which calls it makes, e.g. steps = [\"llm\"]".into()),
                    ));
                }
                (Some(list), _) => {
                    if list.get_ref().is_empty() {
                        return Err(self.bad(
                            list,
                            "workload.requests.steps",
                            "a non-empty list of \"llm\" and \"tool\"",
                            Some("each request needs at least one call, e.g. steps = [\"llm\"]".into()),
                        ));
                    }
                    list.get_ref().iter().map(|s| self.step(s, llms, tools)).collect::<Result<Vec<_>>>()?
                }
            };
            let deadline_ns = match &r.deadline {
                Some(v) => self.positive_duration(v, "workload.requests.deadline")?,
                None => request_timeout_ns,
            };
            let key = r.key.as_ref().map(|k| self.key_dist(k)).transpose()?;
            out.push(RequestType { name, weight, steps, deadline_ns, key, workflow: None });
        }
        Ok(out)
    }

    fn key_dist(&self, v: &Spanned<RawKey>) -> Result<KeyDist> {
        let k = v.get_ref();
        let keys =
            self.positive_int(&k.keys, "workload.requests.key.keys", u64::from(MAX_KEYS), "at least 1 key")? as u32;
        match k.dist.get_ref().as_str() {
            "uniform" => {
                if let Some(s) = &k.s {
                    return Err(self.bad(
                        s,
                        "workload.requests.key.s",
                        "no `s` for a uniform key",
                        Some("`s` is the exponent of `dist = \"zipf\"`".into()),
                    ));
                }
                Ok(KeyDist::Uniform { keys })
            }
            "zipf" => {
                let Some(s) = &k.s else {
                    return Err(self.bad(
                        v,
                        "workload.requests.key",
                        "{ dist = \"zipf\", keys = <K>, s = <exponent> }",
                        Some("a Zipf key needs its exponent `s`, e.g. s = 1.1".into()),
                    ));
                };
                let x = *s.get_ref();
                if !(x.is_finite() && (0.0..=100.0).contains(&x)) {
                    return Err(self.bad(s, "workload.requests.key.s", "a number from 0 to 100", None));
                }
                Ok(KeyDist::Zipf { keys, s: x, cdf: ZipfCdf::new(keys, x) })
            }
            other => Err(self.bad(
                &k.dist,
                "workload.requests.key.dist",
                "\"uniform\" or \"zipf\"",
                Some(super::choice_hint(other, &["uniform", "zipf"])),
            )),
        }
    }
}
