//! The connection, dropped where dropping it is safe.

use postgres::Client;

/// A connection that closes on a thread of its own: `postgres::Client` blocks on its internal
/// runtime when dropped, which panics on a thread that drives an async runtime (a server's
/// handler dropping the last reader of a pool, say).
pub(crate) struct Conn(Option<Client>);

impl Conn {
    pub(crate) fn new(c: Client) -> Self {
        Conn(Some(c))
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Present from `new` until `drop`.
        self.0
            .as_ref()
            .expect("the connection is present until dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.0
            .as_mut()
            .expect("the connection is present until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            // A failed spawn hands the connection back: then it closes here, as it would have.
            let _ = std::thread::Builder::new()
                .name("aiaudit-pg-close".into())
                .spawn(move || drop(c));
        }
    }
}
