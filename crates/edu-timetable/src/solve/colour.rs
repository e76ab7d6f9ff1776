//! Compulsory lessons as bipartite edge colouring: administrative classes × teachers, one colour per free slot.
//! König's theorem says a bipartite multigraph needs only as many colours as its largest degree; Kempe-chain
//! swaps (alternating paths) realise that, and teachers' unavailable slots are treated as fixed colours.

const FREE: i32 = -1;
const FIXED: i32 = -2;

#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub admin: usize,
    pub teacher: usize,
    pub periods: usize,
    /// Previous solution's colours for this unit, tried first.
    pub hint: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct ColourInput {
    pub colours: usize,
    pub day_of: Vec<usize>,
    /// Preference rank of each colour (lower is preferred), e.g. its period in the day.
    pub rank: Vec<usize>,
    pub admins: usize,
    pub teachers: usize,
    pub admin_fixed: Vec<Vec<bool>>,
    pub teacher_fixed: Vec<Vec<bool>>,
    pub units: Vec<Unit>,
    pub days: usize,
}

/// Colours per unit; lessons that could not be coloured are missing from their unit's list.
pub(crate) fn colour(input: &ColourInput) -> Vec<Vec<usize>> {
    let mut painter = Painter::new(input);
    // Hinted colours first, where still free on both sides.
    for (unit, spec) in input.units.iter().enumerate() {
        for &c in &spec.hint {
            if let Some(e) = painter.uncoloured_edge(unit)
                && c < input.colours
                && painter.free_admin(spec.admin, c)
                && painter.free_teacher(spec.teacher, c)
            {
                painter.set(e, Some(c));
            }
        }
    }
    // Busiest teachers first: their lessons have the fewest choices.
    let mut order: Vec<usize> = (0..input.units.len()).collect();
    let mut teacher_load = vec![0usize; input.teachers];
    for u in &input.units {
        teacher_load[u.teacher] += u.periods;
    }
    order.sort_by_key(|&u| {
        let t = input.units[u].teacher;
        let fixed = input.teacher_fixed[t].iter().filter(|&&f| f).count();
        (std::cmp::Reverse(teacher_load[t] + fixed), u)
    });
    for unit in order {
        while let Some(e) = painter.uncoloured_edge(unit) {
            if !painter.paint(e) {
                painter.failed[e] = true;
            }
        }
    }
    let mut out = vec![Vec::new(); input.units.len()];
    for (e, edge) in painter.edges.iter().enumerate() {
        if let Some(c) = painter.colour[e] {
            out[edge.0].push(c);
        }
    }
    for list in &mut out {
        list.sort_unstable();
    }
    out
}

struct Painter<'a> {
    input: &'a ColourInput,
    /// (unit, admin, teacher) per edge.
    edges: Vec<(usize, usize, usize)>,
    colour: Vec<Option<usize>>,
    failed: Vec<bool>,
    at_admin: Vec<Vec<i32>>,
    at_teacher: Vec<Vec<i32>>,
    unit_day: Vec<Vec<usize>>,
    unit_edges: Vec<Vec<usize>>,
}

impl<'a> Painter<'a> {
    fn new(input: &'a ColourInput) -> Self {
        let mut edges = Vec::new();
        let mut unit_edges = vec![Vec::new(); input.units.len()];
        for (u, spec) in input.units.iter().enumerate() {
            for _ in 0..spec.periods {
                unit_edges[u].push(edges.len());
                edges.push((u, spec.admin, spec.teacher));
            }
        }
        let table = |fixed: &Vec<Vec<bool>>, n: usize| -> Vec<Vec<i32>> {
            (0..n)
                .map(|v| {
                    (0..input.colours)
                        .map(|c| if fixed[v][c] { FIXED } else { FREE })
                        .collect()
                })
                .collect()
        };
        Painter {
            input,
            colour: vec![None; edges.len()],
            failed: vec![false; edges.len()],
            edges,
            at_admin: table(&input.admin_fixed, input.admins),
            at_teacher: table(&input.teacher_fixed, input.teachers),
            unit_day: vec![vec![0; input.days]; input.units.len()],
            unit_edges,
        }
    }

    fn uncoloured_edge(&self, unit: usize) -> Option<usize> {
        self.unit_edges[unit]
            .iter()
            .copied()
            .find(|&e| self.colour[e].is_none() && !self.failed[e])
    }

    fn free_admin(&self, a: usize, c: usize) -> bool {
        self.at_admin[a][c] == FREE
    }

    fn free_teacher(&self, t: usize, c: usize) -> bool {
        self.at_teacher[t][c] == FREE
    }

    fn set(&mut self, e: usize, c: Option<usize>) {
        let (unit, a, t) = self.edges[e];
        if let Some(old) = self.colour[e] {
            self.at_admin[a][old] = FREE;
            self.at_teacher[t][old] = FREE;
            self.unit_day[unit][self.input.day_of[old]] -= 1;
        }
        if let Some(new) = c {
            self.at_admin[a][new] = e as i32;
            self.at_teacher[t][new] = e as i32;
            self.unit_day[unit][self.input.day_of[new]] += 1;
        }
        self.colour[e] = c;
    }

    fn score(&self, unit: usize, c: usize) -> usize {
        10 * self.unit_day[unit][self.input.day_of[c]] + self.input.rank[c]
    }

    fn paint(&mut self, e: usize) -> bool {
        let (unit, a, t) = self.edges[e];
        let colours = self.input.colours;
        let best = (0..colours)
            .filter(|&c| self.free_admin(a, c) && self.free_teacher(t, c))
            .min_by_key(|&c| (self.score(unit, c), c));
        if let Some(c) = best {
            self.set(e, Some(c));
            return true;
        }
        let mut alphas: Vec<usize> = (0..colours).filter(|&c| self.free_admin(a, c)).collect();
        alphas.sort_by_key(|&c| (self.score(unit, c), c));
        let betas: Vec<usize> = (0..colours).filter(|&c| self.free_teacher(t, c)).collect();
        let mut tries = 0;
        for &alpha in &alphas {
            if self.at_teacher[t][alpha] == FIXED {
                continue;
            }
            for &beta in &betas {
                tries += 1;
                if tries > 400 {
                    return false;
                }
                if self.kempe(t, alpha, beta) {
                    self.set(e, Some(alpha));
                    return true;
                }
            }
        }
        false
    }

    /// Swaps colours alpha/beta along the alternating path that starts at teacher `t` with its alpha edge.
    fn kempe(&mut self, t: usize, alpha: usize, beta: usize) -> bool {
        let mut path = Vec::new();
        let mut on_teacher = true;
        let mut vertex = t;
        let mut current = alpha;
        loop {
            let slot = if on_teacher {
                self.at_teacher[vertex][current]
            } else {
                self.at_admin[vertex][current]
            };
            if slot == FREE {
                break;
            }
            if slot == FIXED || path.len() > 4 * self.edges.len() {
                return false;
            }
            let e = slot as usize;
            path.push(e);
            let (_, a, te) = self.edges[e];
            let (next_vertex, next_on_teacher) = if on_teacher { (a, false) } else { (te, true) };
            current = if current == alpha { beta } else { alpha };
            vertex = next_vertex;
            on_teacher = next_on_teacher;
        }
        let new_colours: Vec<usize> = path
            .iter()
            .map(|&e| {
                if self.colour[e] == Some(alpha) {
                    beta
                } else {
                    alpha
                }
            })
            .collect();
        for &e in &path {
            self.set(e, None);
        }
        for (&e, &c) in path.iter().zip(&new_colours) {
            self.set(e, Some(c));
        }
        true
    }
}
