//! Admission tests: data-driven examples, and properties against simple oracles.

// Several arrays are indexed in parallel by the same index; iterators would hide that.
#![allow(clippy::needless_range_loop)]

use super::*;
use proptest::prelude::*;

fn problem(schools: &[(&str, u32)], applicants: &[(&str, &str, &str)]) -> AdmissionProblem {
    let mut s = String::from("code,capacity\n");
    for (code, capacity) in schools {
        s.push_str(&format!("{code},{capacity}\n"));
    }
    let mut a = String::from("id,choices,priorities\n");
    for (id, choices, priorities) in applicants {
        a.push_str(&format!("{id},{choices},{priorities}\n"));
    }
    let schools = schools_table(s.as_bytes()).unwrap();
    let applicants = applicants_table(a.as_bytes()).unwrap();
    AdmissionProblem::from_tables(&applicants, &schools).unwrap()
}

fn seed(n: u8) -> Seed {
    Seed::from_bytes([n; 32])
}

#[test]
fn priorities_beat_the_lottery_in_da_but_boston_punishes_a_late_choice() {
    // X has one seat; b has tier 1 there but lists it second (Y has no seat).
    for n in 0..20 {
        let p = problem(
            &[("X", 1), ("Y", 0)],
            &[("a", "X", ""), ("b", "Y;X", "X:1"), ("c", "X", "")],
        );
        let da = p.run(Mechanism::DeferredAcceptance, &seed(n));
        let got: Vec<_> = da.assignments.iter().map(|(_, s)| s.as_deref()).collect();
        assert_eq!(got, vec![None, Some("X"), None]);
        // Boston: X is taken in round 1 by a or c, so b, applying in round 2, gets nothing.
        let boston = p.run(Mechanism::Boston, &seed(n));
        assert_eq!(boston.assignments[1].1, None);
        let winners = boston
            .assignments
            .iter()
            .filter(|(_, school)| school.as_deref() == Some("X"))
            .count();
        assert_eq!(winners, 1);
    }
}

#[test]
fn the_lottery_follows_the_admit_key() {
    let p = problem(
        &[("X", 1)],
        &[("a", "X", ""), ("b", "X", ""), ("c", "X", "")],
    );
    let s = seed(9);
    let winner = ["a", "b", "c"]
        .iter()
        .min_by_key(|id| lottery_key(&s, Purpose::Admit, id))
        .unwrap();
    let result = p.run(Mechanism::DeferredAcceptance, &s);
    let got: Vec<_> = result
        .assignments
        .iter()
        .filter(|(_, x)| x.is_some())
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(got, vec![*winner]);
    assert_eq!(result.to_csv().lines().next(), Some("id,school"));
}

#[test]
fn unknown_schools_are_input_errors_with_lines() {
    let schools = schools_table(b"code,capacity\nX,1\nY,abc\n").unwrap();
    let applicants =
        applicants_table(b"id,choices,priorities\na,X;Z,\nb,X;X,Q:1\nc,X,X:high\n").unwrap();
    let errors = AdmissionProblem::from_tables(&applicants, &schools).unwrap_err();
    let text = errors.to_string();
    assert!(text.contains("schools: line 3, column capacity"), "{text}");
    assert!(
        text.contains("applicants: line 2, column choices: unknown school code \"Z\""),
        "{text}"
    );
    assert!(
        text.contains("line 3, column choices: school \"X\" listed twice"),
        "{text}"
    );
    assert!(
        text.contains("line 3, column priorities: unknown school code \"Q\""),
        "{text}"
    );
    assert!(
        text.contains("line 4, column priorities: tier \"high\""),
        "{text}"
    );
}

// ----- oracles -------------------------------------------------------------------------------

/// Textbook simultaneous-rounds deferred acceptance.
fn oracle_da(instance: &IndexedAdmission) -> Vec<u32> {
    let n = instance.applicant_count();
    let mut next = vec![0usize; n];
    let mut held: Vec<Vec<(u64, usize)>> = vec![Vec::new(); instance.capacities.len()];
    let mut free: Vec<usize> = (0..n).collect();
    while !free.is_empty() {
        let mut proposed = false;
        for &a in &free {
            let start = instance.choice_start[a] as usize;
            let len = instance.choice_start[a + 1] as usize - start;
            if next[a] < len {
                let i = start + next[a];
                next[a] += 1;
                held[instance.choices[i] as usize].push((instance.ranks[i], a));
                proposed = true;
            }
        }
        if !proposed {
            break;
        }
        free.clear();
        for (school, list) in held.iter_mut().enumerate() {
            list.sort();
            let cap = instance.capacities[school] as usize;
            if list.len() > cap {
                free.extend(list.drain(cap..).map(|(_, a)| a));
            }
        }
    }
    let mut result = vec![UNASSIGNED; n];
    for (school, list) in held.iter().enumerate() {
        for &(_, a) in list {
            result[a] = school as u32;
        }
    }
    result
}

/// Textbook Boston: round by round, each school takes its best applicants of the round.
fn oracle_boston(instance: &IndexedAdmission) -> Vec<u32> {
    let n = instance.applicant_count();
    let mut result = vec![UNASSIGNED; n];
    let mut remaining = instance.capacities.clone();
    let longest = (0..n)
        .map(|a| instance.choice_start[a + 1] - instance.choice_start[a])
        .max()
        .unwrap_or(0);
    for round in 0..longest {
        for school in 0..remaining.len() {
            let mut applying: Vec<(u64, usize)> = (0..n)
                .filter(|&a| result[a] == UNASSIGNED)
                .filter_map(|a| {
                    let i = instance.choice_start[a] + round;
                    (i < instance.choice_start[a + 1]
                        && instance.choices[i as usize] as usize == school)
                        .then(|| (instance.ranks[i as usize], a))
                })
                .collect();
            applying.sort();
            for (_, a) in applying.into_iter().take(remaining[school] as usize) {
                result[a] = school as u32;
                remaining[school] -= 1;
            }
        }
    }
    result
}

fn choice_list(instance: &IndexedAdmission, a: usize) -> Vec<(u32, u64)> {
    let (start, end) = (
        instance.choice_start[a] as usize,
        instance.choice_start[a + 1] as usize,
    );
    (start..end)
        .map(|i| (instance.choices[i], instance.ranks[i]))
        .collect()
}

fn assert_capacity(instance: &IndexedAdmission, result: &[u32]) {
    for (school, &cap) in instance.capacities.iter().enumerate() {
        let count = result.iter().filter(|&&s| s == school as u32).count();
        assert!(
            count <= cap as usize,
            "school {school} holds {count} > {cap}"
        );
    }
    for (a, &s) in result.iter().enumerate() {
        if s != UNASSIGNED {
            assert!(
                choice_list(instance, a).iter().any(|&(c, _)| c == s),
                "assigned to an unlisted school"
            );
        }
    }
}

fn assert_stable(instance: &IndexedAdmission, result: &[u32]) {
    for (a, &assigned) in result.iter().enumerate() {
        for (school, rank) in choice_list(instance, a) {
            if school == assigned {
                break;
            }
            // a prefers `school`: it must be full of applicants it ranks higher than a.
            let holders: Vec<u64> = (0..result.len())
                .filter(|&b| result[b] == school)
                .map(|b| {
                    choice_list(instance, b)
                        .iter()
                        .find(|c| c.0 == school)
                        .map(|c| c.1)
                        .unwrap()
                })
                .collect();
            let full = holders.len() == instance.capacities[school as usize] as usize;
            assert!(
                full && holders.iter().all(|&h| h < rank),
                "blocking pair: applicant {a}, school {school}"
            );
        }
    }
}

fn arb_problem() -> impl Strategy<Value = AdmissionProblem> {
    (1usize..6, 0usize..25).prop_flat_map(|(schools, applicants)| {
        let caps = proptest::collection::vec(0u32..4, schools);
        let lists = proptest::collection::vec(
            (
                proptest::sample::subsequence((0..schools).collect::<Vec<_>>(), 0..=schools),
                proptest::collection::vec(0u64..u64::MAX, schools),
                proptest::collection::vec(proptest::option::of(-1i64..3), schools),
            ),
            applicants,
        );
        (caps, lists).prop_map(|(caps, lists)| {
            let schools: Vec<School> = caps
                .iter()
                .enumerate()
                .map(|(i, &c)| School {
                    code: format!("S{i}"),
                    capacity: c,
                })
                .collect();
            let applicants = lists
                .into_iter()
                .enumerate()
                .map(|(i, (subset, shuffle, tiers))| {
                    let mut order = subset;
                    order.sort_by_key(|&s| shuffle[s]);
                    Applicant {
                        id: format!("p{i:02}"),
                        choices: order.iter().map(|s| format!("S{s}")).collect(),
                        priorities: tiers
                            .iter()
                            .enumerate()
                            .filter_map(|(s, t)| t.map(|t| (format!("S{s}"), t)))
                            .collect(),
                    }
                })
                .collect();
            AdmissionProblem::new(schools, applicants).unwrap()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn da_is_stable_within_capacity_and_equals_the_oracle(p in arb_problem(), s in any::<[u8; 32]>()) {
        let instance = p.indexed(&Seed::from_bytes(s));
        let result = instance.deferred_acceptance();
        assert_capacity(&instance, &result);
        assert_stable(&instance, &result);
        prop_assert_eq!(result, oracle_da(&instance));
    }

    #[test]
    fn boston_equals_the_oracle_and_wastes_no_seat(p in arb_problem(), s in any::<[u8; 32]>()) {
        let instance = p.indexed(&Seed::from_bytes(s));
        let result = instance.boston();
        assert_capacity(&instance, &result);
        prop_assert_eq!(&result, &oracle_boston(&instance));
        for (a, &assigned) in result.iter().enumerate() {
            // Every school listed before the one obtained (or any listed school, when none was
            // obtained) is full at the end.
            for (school, _) in choice_list(&instance, a) {
                if school == assigned {
                    break;
                }
                let count = result.iter().filter(|&&x| x == school).count();
                prop_assert_eq!(count, instance.capacities[school as usize] as usize);
            }
        }
        // Whoever lists a school first and loses it in round 1 ranks below all its round-1 winners.
        for a in 0..result.len() {
            let Some(&(first, rank)) = choice_list(&instance, a).first() else { continue };
            if result[a] != first {
                for b in 0..result.len() {
                    if let Some(&(f, r)) = choice_list(&instance, b).first()
                        && f == first && result[b] == first {
                            prop_assert!(r < rank);
                        }
                }
            }
        }
    }

    #[test]
    fn da_rewards_no_misreport(
        p in arb_problem(),
        s in any::<[u8; 32]>(),
        who in any::<proptest::sample::Index>(),
        lie in proptest::collection::vec(any::<u64>(), 6),
        cut in 0usize..6,
    ) {
        prop_assume!(!p.applicants().is_empty());
        let seed = Seed::from_bytes(s);
        let truthful = p.run(Mechanism::DeferredAcceptance, &seed);
        let a = who.index(p.applicants().len());
        let truth = p.applicants()[a].choices.clone();
        // A misreport: any order of any subset of the schools.
        let mut codes: Vec<String> = p.schools().iter().map(|s| s.code.clone()).collect();
        codes.sort_by_key(|c| lie[c[1..].parse::<usize>().unwrap() % lie.len()]);
        codes.truncate(cut.min(codes.len()));
        let mut applicants = p.applicants().to_vec();
        applicants[a].choices = codes;
        let manipulated = AdmissionProblem::new(p.schools().to_vec(), applicants).unwrap();
        let outcome = manipulated.run(Mechanism::DeferredAcceptance, &seed);
        let position = |school: &Option<String>| {
            school.as_ref().and_then(|code| truth.iter().position(|c| c == code)).unwrap_or(usize::MAX)
        };
        prop_assert!(position(&outcome.assignments[a].1) >= position(&truthful.assignments[a].1));
    }

    #[test]
    fn row_order_does_not_change_the_result(p in arb_problem(), s in any::<[u8; 32]>(), rot in 0usize..30) {
        let seed = Seed::from_bytes(s);
        let mut applicants = p.applicants().to_vec();
        let len = applicants.len().max(1);
        applicants.rotate_left(rot % len);
        applicants.reverse();
        let mut schools = p.schools().to_vec();
        schools.reverse();
        let shuffled = AdmissionProblem::new(schools, applicants).unwrap();
        for m in [Mechanism::DeferredAcceptance, Mechanism::Boston] {
            prop_assert_eq!(p.run(m, &seed).to_csv(), shuffled.run(m, &seed).to_csv());
        }
    }
}
