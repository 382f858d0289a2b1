//! Request pacing shared by every sender: the configured rate limit (governor), a pause
//! that a `Retry-After` imposes on all senders at once, and retry backoff with full jitter.
//! Every wait runs on tokio's clock, so a test with a paused clock paces exactly as a real
//! run does, only without waiting.

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use rand::Rng;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A request rate such as `20/s`, `600/m` or `5/100ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("'{s}' is not a rate; write requests per period, like 20/s, 600/m or 5/100ms")
        };
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let requests: NonZeroU32 = n.trim().parse().map_err(|_| bad())?;
        let unit = unit.trim();
        let digits_end = unit
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(unit.len());
        let count: u64 = if digits_end == 0 {
            1
        } else {
            unit[..digits_end].parse().map_err(|_| bad())?
        };
        let base = match &unit[digits_end..] {
            "ms" => Duration::from_millis(1),
            "s" | "sec" => Duration::from_secs(1),
            "m" | "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        let per = base * u32::try_from(count).map_err(|_| bad())?;
        if per.is_zero() {
            return Err(bad());
        }
        Ok(Rate { requests, per })
    }
}

impl Rate {
    /// 50 ms worth of requests, at least one. A burst of one would lose the timer's
    /// granularity on every wait (a 5 ms spacing woken at 6 ms runs at 5/6 of the rate).
    pub fn default_burst(self) -> NonZeroU32 {
        let per_50ms = u64::from(self.requests.get()) * 50 / (self.per.as_millis().max(1) as u64);
        NonZeroU32::new(per_50ms.clamp(1, u64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.per.as_millis() {
            1000 => write!(f, "{}/s", self.requests),
            60_000 => write!(f, "{}/m", self.requests),
            ms => write!(f, "{}/{ms}ms", self.requests),
        }
    }
}

/// governor's clock, read from tokio's (which a test may pause and advance).
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

pub struct Pacer {
    limiter: Limiter,
    paused_until: Mutex<Option<Instant>>,
}

/// The limiter's state has no `Debug`; a pacer shows only whether it is paused.
impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("paused_until", &self.paused_until)
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// `burst` is how many requests may go at once after an idle spell (at least 1).
    pub fn new(rate: Rate, burst: NonZeroU32) -> Pacer {
        let period = rate.per / rate.requests.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is non-zero")
            .allow_burst(burst);
        Pacer {
            limiter: RateLimiter::direct_with_clock(quota, TokioClock),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until a request may be sent: no pause in force and the rate limit allows it.
    pub async fn ready(&self) {
        loop {
            if let Some(until) = self.paused() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.limiter.check() {
                // A pause that started while we waited for the limiter applies to us too.
                Ok(()) if self.paused().is_none() => return,
                Ok(()) => {}
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
                }
            }
        }
    }

    /// Stops every sender until `after` has passed (the provider's `Retry-After`).
    pub fn pause_for(&self, after: Duration) {
        let until = Instant::now() + after;
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|t| t < until) {
            *p = Some(until);
        }
    }

    fn paused(&self) -> Option<Instant> {
        let p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        p.filter(|t| *t > Instant::now())
    }
}

/// Exponential backoff with full jitter for retry number `attempt` (1-based).
pub fn backoff(attempt: u32, rng: &mut impl Rng) -> Duration {
    const BASE_MS: u64 = 250;
    const CAP_MS: u64 = 30_000;
    let ceiling = BASE_MS.saturating_mul(1 << attempt.min(16)).min(CAP_MS);
    Duration::from_millis(rng.random_range(0..=ceiling))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        let r: Rate = "20/s".parse().unwrap();
        assert_eq!((r.requests.get(), r.per), (20, Duration::from_secs(1)));
        let r: Rate = "600/m".parse().unwrap();
        assert_eq!((r.requests.get(), r.per), (600, Duration::from_secs(60)));
        let r: Rate = "5/100ms".parse().unwrap();
        assert_eq!((r.requests.get(), r.per), (5, Duration::from_millis(100)));
        for bad in ["", "20", "0/s", "x/s", "20/parsec", "20/0s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn default_burst_is_50ms_of_the_rate() {
        let burst = |r: &str| r.parse::<Rate>().unwrap().default_burst().get();
        assert_eq!(burst("200/s"), 10);
        assert_eq!(burst("5/s"), 1);
        assert_eq!(burst("600/m"), 1);
        assert_eq!(burst("1000000/s"), 50_000);
    }

    #[test]
    fn backoff_stays_within_its_ceiling() {
        let rng = &mut rand::rng();
        for attempt in 1..40 {
            assert!(backoff(attempt, rng) <= Duration::from_secs(30));
        }
        assert!(backoff(1, rng) <= Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limit_spaces_requests_on_tokios_clock() {
        let pacer = Pacer::new("10/s".parse().unwrap(), NonZeroU32::new(1).unwrap());
        let start = Instant::now();
        for _ in 0..21 {
            pacer.ready().await;
        }
        // 21 requests at 10/s with a burst of 1: the last goes 2 s after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_sender() {
        let pacer = Pacer::new("1000/s".parse().unwrap(), NonZeroU32::new(10).unwrap());
        let start = Instant::now();
        pacer.pause_for(Duration::from_secs(2));
        pacer.ready().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
