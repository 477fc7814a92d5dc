//! Counting open connections, in all and per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address holds `max_per_address` connections.
    PerAddress(usize),
    /// The server holds `max_connections`.
    Total(usize),
}

impl Refusal {
    /// The metric label.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refusal::PerAddress(_) => "per_address",
            Refusal::Total(_) => "total",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::PerAddress(n) => write!(
                f,
                "this address already holds {n} connections (server.max_connections_per_address); close one or reuse it"
            ),
            Refusal::Total(n) => write!(
                f,
                "the server holds {n} connections, its limit (server.max_connections); try again shortly"
            ),
        }
    }
}

/// The open connections.
#[derive(Debug)]
pub(crate) struct Slots {
    max_total: usize,
    gauge: prometheus_client::metrics::gauge::Gauge,
    max_per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Slots {
    /// Slots up to these caps, counted in `gauge` too.
    pub(crate) fn new(
        max_total: usize,
        max_per_address: usize,
        gauge: prometheus_client::metrics::gauge::Gauge,
    ) -> Self {
        Slots {
            max_total,
            gauge,
            max_per_address,
            open: Mutex::new(Open::default()),
        }
    }

    /// A slot for a connection from `peer`, held until the [`Slot`] is dropped.
    pub(crate) fn take(self: &Arc<Self>, peer: Option<IpAddr>) -> Result<Slot, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.max_total {
            return Err(Refusal::Total(self.max_total));
        }
        if let Some(ip) = peer {
            let n = open.by_address.entry(ip).or_insert(0);
            if *n >= self.max_per_address {
                return Err(Refusal::PerAddress(self.max_per_address));
            }
            *n += 1;
        }
        open.total += 1;
        self.gauge.inc();
        Ok(Slot {
            slots: Arc::clone(self),
            peer,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

/// One open connection's place; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    peer: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        self.slots.gauge.dec();
        if let Some(ip) = self.peer
            && let Some(n) = open.by_address.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_address_and_in_all() {
        let slots = Arc::new(Slots::new(3, 2, Default::default()));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let a1 = slots.take(Some(a)).expect("first");
        let _a2 = slots.take(Some(a)).expect("second");
        assert_eq!(slots.take(Some(a)).err(), Some(Refusal::PerAddress(2)));
        let _b1 = slots.take(Some(b)).expect("another address");
        assert_eq!(slots.take(Some(b)).err(), Some(Refusal::Total(3)));
        assert_eq!(slots.open(), 3);
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _a3 = slots.take(Some(a)).expect("a place came free");
    }
}
