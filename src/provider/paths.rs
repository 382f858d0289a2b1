//! What one client has learned, in this run, about the provider's lookup paths: which have
//! proved themselves (answered a link, so their refusals mean "not found") and which answered
//! 404/405 before ever working (missing at this provider, so they are skipped).
//!
//! A client lives for one run with one set of credentials, so what it learns holds exactly
//! as long as the rule asks: "proved in the same run, with the same credentials".

use super::Lookup;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unproven,
    Proven,
    Disabled,
}

/// The lookup paths of one client, by name (`"details"`, `"/pls/api/v2/payout-link/fetch"`).
#[derive(Debug, Default)]
pub(crate) struct Paths {
    known: Mutex<Vec<(&'static str, State)>>,
}

impl Paths {
    fn state(&self, path: &'static str) -> State {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(State::Unproven, |(_, s)| *s)
    }

    fn set(&self, path: &'static str, state: State) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        match known.iter_mut().find(|(p, _)| *p == path) {
            Some((_, s)) => *s = state,
            None => known.push((path, state)),
        }
    }

    /// The path answered a link: from now on its refusals are evidence.
    pub(crate) fn prove(&self, path: &'static str) {
        self.set(path, State::Proven);
    }

    pub(crate) fn proven(&self, path: &'static str) -> bool {
        self.state(path) == State::Proven
    }

    pub(crate) fn disabled(&self, path: &'static str) -> bool {
        self.state(path) == State::Disabled
    }

    /// The path answered 404/405. A path that never worked is missing: it is skipped for
    /// the rest of the run (`Some(true)` the first time, so the caller warns once). A proven
    /// one keeps serving (`None`): the answer is about this one order id.
    pub(crate) fn missing(&self, path: &'static str) -> Option<bool> {
        // One lock for the test and the change: of requests meeting the 404 together,
        // exactly one is the first.
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        match known.iter_mut().find(|(p, _)| *p == path) {
            Some((_, State::Proven)) => None,
            Some((_, State::Disabled)) => Some(false),
            Some((_, state)) => {
                *state = State::Disabled;
                Some(true)
            }
            None => {
                known.push((path, State::Disabled));
                Some(true)
            }
        }
    }

    /// A refusal from `path`, as the engine must read it.
    pub(crate) fn refusal(&self, path: &'static str, answer: String) -> Lookup {
        if self.proven(path) {
            Lookup::NotFound(answer)
        } else {
            Lookup::Unproven(answer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_count_only_once_the_path_has_answered_a_link() {
        let paths = Paths::default();
        assert_eq!(
            paths.refusal("fetch", "PL_057".into()),
            Lookup::Unproven("PL_057".into())
        );
        paths.prove("fetch");
        assert_eq!(
            paths.refusal("fetch", "PL_057".into()),
            Lookup::NotFound("PL_057".into())
        );
        assert_eq!(
            paths.refusal("other", "x".into()),
            Lookup::Unproven("x".into())
        );
    }

    #[test]
    fn only_a_path_that_never_worked_is_disabled_and_only_once() {
        let paths = Paths::default();
        assert_eq!(paths.missing("v2"), Some(true));
        assert!(paths.disabled("v2"));
        assert_eq!(paths.missing("v2"), Some(false));
        paths.prove("details");
        assert_eq!(paths.missing("details"), None);
        assert!(!paths.disabled("details"));
    }

    #[test]
    fn of_many_requests_meeting_a_missing_path_at_once_one_is_first() {
        let paths = std::sync::Arc::new(Paths::default());
        let firsts: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let paths = std::sync::Arc::clone(&paths);
                    s.spawn(move || paths.missing("details") == Some(true))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap() as usize)
                .sum()
        });
        assert_eq!(firsts, 1);
    }
}
