//! Compiles raw workflow steps into the scenario's arena of nodes: names,
//! kinds, services, joins, nesting and size limits, ask cycles.

use super::*;

/// How deep workflows may nest (sequences in loops in parallels ...).
const MAX_DEPTH: usize = 32;

/// Compiles raw steps into the arena.
pub(super) struct Builder<'c, 'a> {
    pub(super) ctx: &'c Ctx<'a>,
    pub(super) input: &'c RolesInput<'c>,
    pub(super) roles: &'c [String],
    pub(super) out: Workflows,
    /// The role's (or request type's) name, qualifying its step names.
    pub(super) prefix: String,
    /// Step names used in the current workflow.
    pub(super) local: Vec<String>,
    /// Per role: the longest timeout of any ask of it.
    pub(super) ask_timeouts: Vec<u64>,
    /// Per role: the roles its workflows ask (with where, for errors).
    pub(super) asks: Vec<Vec<(usize, usize)>>,
    pub(super) current_role: Option<usize>,
}

/// The one kind of step a raw step is.
enum Kind<'r> {
    Call(&'r Spanned<String>),
    Occ(&'r Spanned<String>),
    Ask(&'r Spanned<String>),
    Sequence(&'r Spanned<Vec<Spanned<RawStep>>>),
    Parallel(&'r Spanned<Vec<Spanned<RawStep>>>),
    Loop(&'r Spanned<Vec<Spanned<RawStep>>>),
    Branch(&'r Spanned<Vec<Spanned<RawOption>>>),
}

const STEP_KINDS: &str = "`call`, `ask`, `occ`, `sequence`, `parallel`, `loop` or `branch`";

impl Builder<'_, '_> {
    pub(super) fn push(&mut self, node: Node) -> NodeIndex {
        self.out.nodes.push(node);
        (self.out.nodes.len() - 1) as NodeIndex
    }

    /// A list of steps: one sequence node (the step itself for a list of one
    /// unnamed ... every step is named, so a list of one is that step).
    pub(super) fn sequence(
        &mut self,
        list: &Spanned<Vec<Spanned<RawStep>>>,
        path: &str,
        step: Option<StepId>,
        depth: usize,
    ) -> Result<NodeIndex> {
        if list.get_ref().is_empty() {
            return Err(self.ctx.bad(list, path, "a non-empty list of steps", Some(step_example())));
        }
        if list.get_ref().len() > MAX_STEPS {
            return Err(self.ctx.bad(list, path, format!("at most {MAX_STEPS} steps"), None));
        }
        if depth > MAX_DEPTH {
            return Err(self.ctx.bad(
                list,
                path,
                format!("workflows nested at most {MAX_DEPTH} deep"),
                Some("flatten the workflow: nest fewer sequences, loops, branches and parallels".into()),
            ));
        }
        let mut children = Vec::with_capacity(list.get_ref().len());
        for s in list.get_ref() {
            children.push(self.step(s, depth + 1)?);
        }
        if step.is_none() && children.len() == 1 {
            return Ok(children[0]);
        }
        let node = self.push(Node::Sequence { step, children });
        self.check_frames(node, list)?;
        Ok(node)
    }

    /// The simple form's `steps = ["llm", "tool"]` as a workflow of calls
    /// named `step1`, `step2`, ...
    pub(super) fn simple_steps(&mut self, steps: &[Step]) -> NodeIndex {
        let mut children = Vec::with_capacity(steps.len());
        for (i, &s) in steps.iter().enumerate() {
            let name = format!("step{}", i + 1);
            let (target, timeout_ns) = self.service(s);
            let step = self.name_unchecked(&name, "call", target);
            children.push(self.push(Node::Call(CallNode {
                step,
                service: s,
                timeout_ns,
                retry: None,
                context: false,
            })));
        }
        self.push(Node::Sequence { step: None, children })
    }

    pub(super) fn service(&self, s: Step) -> (String, u64) {
        match s {
            Step::Llm(i) => {
                let m = &self.input.llms[i as usize];
                (format!("llm:{}", m.name), m.timeout_ns)
            }
            Step::Tool(i) => {
                let m = &self.input.tools[i as usize];
                (format!("tool:{}", m.name), m.timeout_ns)
            }
        }
    }

    pub(super) fn name_unchecked(&mut self, local: &str, kind: &'static str, target: String) -> StepId {
        self.local.push(local.to_owned());
        self.out.steps.push(StepInfo { name: format!("{}.{local}", self.prefix), kind, target });
        (self.out.steps.len() - 1) as StepId
    }

    /// Register a named step; its name must be new in this workflow.
    pub(super) fn name(&mut self, raw: &Spanned<RawStep>, kind: &'static str, target: String) -> Result<StepId> {
        let v = &raw.get_ref().name;
        let name = &self.ctx.short_name(v, "workflow step name")?;
        if self.local.iter().any(|n| n == name) {
            return Err(self.ctx.bad(
                v,
                "workflow step name",
                "a name no other step of this workflow has",
                Some(format!("step `{name}` appears twice in `{}`'s workflow; reports key steps by name", self.prefix)),
            ));
        }
        let qualified = format!("{}.{name}", self.prefix);
        if self.out.steps.iter().any(|s| s.name == qualified) {
            return Err(self.ctx.bad(
                v,
                "workflow step name",
                "a step name that is unique in the scenario",
                Some(format!("`{qualified}` names two steps: give the role and the request type different names")),
            ));
        }
        if self.out.steps.len() == MAX_STEPS {
            return Err(self.ctx.bad(v, "workflow step name", format!("at most {MAX_STEPS} named steps in all"), None));
        }
        Ok(self.name_unchecked(name, kind, target))
    }

    fn kind<'r>(&self, raw: &'r Spanned<RawStep>) -> Result<Kind<'r>> {
        let s = raw.get_ref();
        let mut kinds = Vec::new();
        if let Some(v) = &s.call {
            kinds.push(Kind::Call(v));
        }
        if let Some(v) = &s.ask {
            kinds.push(Kind::Ask(v));
        }
        if let Some(v) = &s.occ {
            kinds.push(Kind::Occ(v));
        }
        if let Some(v) = &s.sequence {
            kinds.push(Kind::Sequence(v));
        }
        if let Some(v) = &s.parallel {
            kinds.push(Kind::Parallel(v));
        }
        if let Some(v) = &s.repeat {
            kinds.push(Kind::Loop(v));
        }
        if let Some(v) = &s.branch {
            kinds.push(Kind::Branch(v));
        }
        if kinds.len() != 1 {
            let what = if kinds.is_empty() { "no kind" } else { "more than one kind" };
            return Err(self.ctx.err(
                raw.span().start,
                format!("workflow step `{}` has {what}", echo(s.name.get_ref())),
                format!("exactly one of {STEP_KINDS}"),
                Some(step_example()),
            ));
        }
        Ok(kinds.remove(0))
    }

    pub(super) fn step(&mut self, raw: &Spanned<RawStep>, depth: usize) -> Result<NodeIndex> {
        let kind = self.kind(raw)?;
        let s = raw.get_ref();
        // Keys that belong to other kinds are mistakes worth naming.
        let misplaced = |key: &str, present: bool, allowed: bool| -> Result<()> {
            if present && !allowed {
                return Err(self.ctx.err(
                    raw.span().start,
                    format!("workflow step `{}`: `{key}` does not apply to this kind of step", echo(s.name.get_ref())),
                    match key {
                        "copies" | "join" => "`copies` and `join` on a `call`, an `ask` or a `parallel`",
                        "max" | "done_probability" | "count" => "`max`, `done_probability` and `count` on a `loop`",
                        "retry" => "`retry` on a `call`",
                        "context" => "`context` on a `call` or an `ask`",
                        _ => "`timeout` on a `call` or an `ask`",
                    },
                    None,
                ));
            }
            Ok(())
        };
        let leaf = matches!(kind, Kind::Call(_) | Kind::Ask(_));
        let is_loop = matches!(kind, Kind::Loop(_));
        misplaced("copies", s.copies.is_some(), leaf)?;
        misplaced("join", s.join.is_some(), leaf || matches!(kind, Kind::Parallel(_)))?;
        misplaced("max", s.max.is_some(), is_loop)?;
        misplaced("done_probability", s.done_probability.is_some(), is_loop)?;
        misplaced("count", s.count.is_some(), is_loop)?;
        misplaced("retry", s.retry.is_some(), matches!(kind, Kind::Call(_) | Kind::Occ(_)))?;
        misplaced("attempts", s.attempts.is_some(), matches!(kind, Kind::Occ(_)))?;
        misplaced("context", s.context.is_some(), leaf)?;
        misplaced("timeout", s.timeout.is_some(), leaf || matches!(kind, Kind::Occ(_)))?;
        if s.join.is_some() && leaf && s.copies.is_none() {
            return Err(self.ctx.err(
                raw.span().start,
                format!("workflow step `{}`: `join` without `copies`", echo(s.name.get_ref())),
                "`copies = N` with `join`",
                Some("`join` decides a step run several times at once; add `copies`".into()),
            ));
        }
        let timeout = s.timeout.as_ref().map(|t| self.ctx.positive_duration(t, "workflow step timeout")).transpose()?;
        let context = s.context.as_ref().is_some_and(|c| *c.get_ref());
        let node = match kind {
            Kind::Call(v) => {
                let service = self.ctx.step(v, self.input.llms, self.input.tools)?;
                let (target, default_timeout) = self.service(service);
                let retry =
                    s.retry.as_ref().map(|r| self.ctx.one_value::<Retry>(r, self.input.defaults)).transpose()?;
                let step = self.name(raw, "call", target)?;
                let leaf = self.push(Node::Call(CallNode {
                    step,
                    service,
                    timeout_ns: timeout.unwrap_or(default_timeout),
                    retry,
                    context,
                }));
                self.copies(raw, leaf)?
            }
            Kind::Occ(v) => {
                let name = v.get_ref().strip_prefix("store:").unwrap_or("");
                let Some(store) = self.input.stores.iter().position(|st| st.name == name) else {
                    let known: Vec<String> =
                        self.input.stores.iter().map(|st| format!("\"store:{}\"", st.name)).collect();
                    return Err(self.ctx.bad(
                        v,
                        "workflow occ",
                        "\"store:NAME\" of a `[stores.NAME]` table",
                        Some(if known.is_empty() {
                            "declare the row in [stores.NAME]".into()
                        } else {
                            format!("stores: {}", known.join(", "))
                        }),
                    ));
                };
                let retry =
                    s.retry.as_ref().map(|r| self.ctx.one_value::<Retry>(r, self.input.defaults)).transpose()?;
                let attempts = match &s.attempts {
                    Some(a) => self.ctx.positive_int(a, "workflow occ attempts", 1_000_000, "at least 1 try")? as u32,
                    None => 10_000,
                };
                let step = self.name(raw, "occ", format!("store:{name}"))?;
                let timeout_ns = timeout.unwrap_or(self.input.stores[store].timeout_ns);
                self.push(Node::Occ(OccNode { step, store: store as u16, timeout_ns, retry, attempts }))
            }
            Kind::Ask(v) => {
                let Some(role) = self.roles.iter().position(|r| r == v.get_ref()) else {
                    let hint = match did_you_mean(v.get_ref(), self.roles.iter().map(String::as_str)) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!("roles: {}", self.roles.join(", ")),
                    };
                    return Err(self.ctx.bad(v, "workflow ask", "the name of a `[[roles]]` table", Some(hint)));
                };
                let timeout_ns = timeout.unwrap_or(self.input.max_deadline_ns);
                self.ask_timeouts[role] = self.ask_timeouts[role].max(timeout_ns);
                if let Some(me) = self.current_role {
                    self.asks[me].push((role, v.span().start));
                }
                let step = self.name(raw, "ask", format!("role:{}", v.get_ref()))?;
                let leaf = self.push(Node::Ask { step, role: role as RoleIndex, timeout_ns, context });
                self.copies(raw, leaf)?
            }
            Kind::Sequence(list) => {
                let step = self.name(raw, "sequence", String::new())?;
                self.sequence(list, "workflow sequence", Some(step), depth)?
            }
            Kind::Parallel(list) => {
                if list.get_ref().len() > MAX_PARALLEL as usize {
                    return Err(self.ctx.bad(
                        list,
                        "workflow parallel",
                        format!("at most {MAX_PARALLEL} branches"),
                        None,
                    ));
                }
                if list.get_ref().is_empty() {
                    return Err(self.ctx.bad(
                        list,
                        "workflow parallel",
                        "a non-empty list of steps",
                        Some(step_example()),
                    ));
                }
                let step = self.name(raw, "parallel", String::new())?;
                let join = self.join(raw, list.get_ref().len() as u32)?;
                let mut branches = Vec::with_capacity(list.get_ref().len());
                for b in list.get_ref() {
                    branches.push(self.step(b, depth + 1)?);
                }
                self.push(Node::Parallel { step: Some(step), branches, join })
            }
            Kind::Loop(list) => {
                let step = self.name(raw, "loop", String::new())?;
                let Some(max) = &s.max else {
                    return Err(self.ctx.err(
                        raw.span().start,
                        format!("workflow loop `{}` has no `max`", echo(s.name.get_ref())),
                        "`max = N`: the hard cap on iterations",
                        Some("every loop is bounded, e.g. max = 10 with done_probability = 0.3".into()),
                    ));
                };
                let max = self.ctx.positive_int(
                    max,
                    "workflow loop max",
                    u64::from(MAX_LOOP_ITERATIONS),
                    "a loop runs its body at least once",
                )? as u32;
                let until = match (&s.done_probability, &s.count) {
                    (Some(p), None) => {
                        let x = *p.get_ref();
                        if !(x.is_finite() && x > 0.0 && x <= 1.0) {
                            return Err(self.ctx.bad(
                                p,
                                "workflow loop done_probability",
                                "a probability in (0, 1]",
                                Some("the chance, after each turn, that the model decides it is done".into()),
                            ));
                        }
                        LoopEnd::DoneProbability(x)
                    }
                    (None, Some(c)) => LoopEnd::Count(self.ctx.dist(c, "workflow loop count", DistKind::Tokens)?),
                    (None, None) => LoopEnd::Max,
                    (Some(p), Some(_)) => {
                        return Err(self.ctx.bad(
                            p,
                            "workflow loop done_probability",
                            "either `done_probability` or `count`, not both",
                            None,
                        ));
                    }
                };
                let body = self.sequence(list, "workflow loop", None, depth)?;
                self.push(Node::Loop { step, body, max, until })
            }
            Kind::Branch(options) => {
                if options.get_ref().is_empty() {
                    return Err(self.ctx.bad(
                        options,
                        "workflow branch",
                        "a non-empty list of { weight, steps }",
                        None,
                    ));
                }
                let step = self.name(raw, "branch", String::new())?;
                let mut out = Vec::with_capacity(options.get_ref().len());
                let mut total = 0.0;
                for o in options.get_ref() {
                    let w = *o.get_ref().weight.get_ref();
                    if !(w.is_finite() && w > 0.0) {
                        return Err(self.ctx.bad(
                            &o.get_ref().weight,
                            "workflow branch weight",
                            "a finite number > 0",
                            None,
                        ));
                    }
                    total += w;
                    let body = self.sequence(&o.get_ref().steps, "workflow branch steps", None, depth)?;
                    out.push((w, body));
                }
                // Cumulative probabilities; the last is exactly 1.
                let mut acc = 0.0;
                for o in &mut out {
                    acc += o.0 / total;
                    o.0 = acc;
                }
                if let Some(last) = out.last_mut() {
                    last.0 = 1.0;
                }
                self.push(Node::Branch { step, options: out })
            }
        };
        self.check_frames(node, raw)?;
        Ok(node)
    }

    /// `copies = N` on a leaf: N of it at once, decided by `join`.
    pub(super) fn copies(&mut self, raw: &Spanned<RawStep>, leaf: NodeIndex) -> Result<NodeIndex> {
        let Some(c) = &raw.get_ref().copies else { return Ok(leaf) };
        let n = self.ctx.positive_int(c, "workflow copies", u64::from(MAX_PARALLEL), "at least 1 copy")? as u32;
        let join = self.join(raw, n)?;
        Ok(self.push(Node::Parallel { step: None, branches: vec![leaf; n as usize], join }))
    }

    pub(super) fn join(&self, raw: &Spanned<RawStep>, n: u32) -> Result<Join> {
        let Some(v) = &raw.get_ref().join else { return Ok(Join::All) };
        const EXPECTED: &str = "\"all\", \"quorum\", \"first\", or a number K of branches that must succeed";
        match v.get_ref() {
            RawItem::Str(s) => match s.as_str() {
                "all" => Ok(Join::All),
                "quorum" => Ok(Join::Quorum),
                "first" => Ok(Join::First),
                other => Err(self.ctx.bad(
                    v,
                    "workflow join",
                    EXPECTED,
                    Some(choice_hint(other, &["all", "quorum", "first"])),
                )),
            },
            RawItem::Int(k) if *k >= 1 && *k <= i64::from(n) => Ok(Join::K(*k as u32)),
            RawItem::Int(_) => Err(self.ctx.bad(
                v,
                "workflow join",
                format!("K from 1 to {n} (the number of branches)"),
                Some("`join = K` waits for K branches to succeed".into()),
            )),
            _ => Err(self.ctx.bad(v, "workflow join", EXPECTED, None)),
        }
    }

    /// Reject a workflow whose worst case makes too many frames.
    pub(super) fn check_frames<T>(&self, node: NodeIndex, at: &Spanned<T>) -> Result<()> {
        let frames = worst_frames(&self.out, node);
        if frames > MAX_FRAMES_PER_WORK {
            return Err(self.ctx.err(
                at.span().start,
                format!("this workflow may run {frames} steps for one piece of work"),
                format!("at most {MAX_FRAMES_PER_WORK} in the worst case (every loop at its `max`)"),
                Some("lower a loop's `max`, or the `copies` of a parallel step inside a loop".into()),
            ));
        }
        Ok(())
    }

    /// Roles that ask each other in a cycle would ask forever.
    pub(super) fn reject_cycles(&self, raw: &[RawRole]) -> Result<()> {
        // Depth-first search with colours over the ask graph.
        fn visit(b: &Builder<'_, '_>, r: usize, colour: &mut [u8], path: &mut Vec<usize>) -> Option<(usize, usize)> {
            colour[r] = 1;
            path.push(r);
            for &(to, at) in &b.asks[r] {
                if colour[to] == 1 {
                    return Some((to, at));
                }
                if colour[to] == 0
                    && let Some(c) = visit(b, to, colour, path)
                {
                    return Some(c);
                }
            }
            path.pop();
            colour[r] = 2;
            None
        }
        let mut colour = vec![0u8; raw.len()];
        for r in 0..raw.len() {
            let mut path = Vec::new();
            if colour[r] == 0
                && let Some((to, at)) = visit(self, r, &mut colour, &mut path)
            {
                let start = path.iter().position(|&p| p == to).unwrap_or(0);
                let cycle: Vec<&str> =
                    path[start..].iter().chain(std::iter::once(&to)).map(|&i| self.roles[i].as_str()).collect();
                return Err(self.ctx.err(
                    at,
                    format!("roles ask each other in a cycle: {}", cycle.join(" -> ")),
                    "asks that flow one way (a role never asks itself, directly or through others)",
                    Some("a cycle of asks never ends; model repeated work with a `loop` instead".into()),
                ));
            }
        }
        Ok(())
    }
}

/// The most frames one run of `node` may create.
fn step_example() -> String {
    "for example: workflow = [{ name = \"plan\", call = \"llm:big\" }, { name = \"research\", ask = \"researcher\", \
     copies = 3, join = \"all\" }]"
        .into()
}
