//! The clock is injected so that status and expiry rules can be tested at any
//! instant, whatever today's date is.

use std::sync::Arc;

use super::Micros;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Micros;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        Micros::from_datetime(chrono::Utc::now())
    }
}

/// A clock that always reads the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Micros);

impl Clock for FixedClock {
    fn now(&self) -> Micros {
        self.0
    }
}

pub type SharedClock = Arc<dyn Clock>;
