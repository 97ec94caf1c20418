//! One replayed file read ahead on its own thread, so a file of any size streams through a
//! bounded buffer instead of being loaded whole.
//!
//! A thread rather than a reader kept between polls because a zip entry's reader borrows its
//! archive: on the thread's stack both live for exactly as long as the file is read.

use std::collections::HashMap;
use std::io;
use std::mem;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use crate::sim::SimTrade;

use super::file_input::{FileInput, read_trades};

/// Trades per message from the reader thread.
const BATCH: usize = 4_096;

/// Batches read ahead: with `BATCH` this bounds a stream's memory to about 2 MB.
const READ_AHEAD: usize = 8;

/// What the reader thread sends; the end of the file is the channel closing.
enum Batch {
    Trades(Vec<SimTrade>),
    Failed(String),
}

/// The trades of one file in file order, symbol indices set, times as in the file.
pub struct InputStream {
    receiver: Receiver<Batch>,
    batch: Vec<SimTrade>,
    next: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl InputStream {
    /// Starts reading `input`, naming symbols by their index in `symbols` (which must hold
    /// every symbol the file trades, as a first pass over it found).
    pub fn spawn(input: FileInput, symbols: Arc<HashMap<String, u32>>) -> io::Result<InputStream> {
        let (sender, receiver) = crossbeam_channel::bounded(READ_AHEAD);
        let thread = thread::Builder::new()
            .name("klagg-sim-replay".into())
            .spawn(move || read_ahead(&input, &symbols, &sender))?;
        Ok(InputStream {
            receiver,
            batch: Vec::new(),
            next: 0,
            done: false,
            thread: Some(thread),
        })
    }

    /// The next trade, waiting for the reader if it is behind; `Ok(None)` at the end, and an
    /// error once if reading failed midway (then the end).
    pub fn peek(&mut self) -> Result<Option<SimTrade>, String> {
        while self.next == self.batch.len() {
            if self.done {
                return Ok(None);
            }
            match self.receiver.recv() {
                Ok(Batch::Trades(trades)) => {
                    self.batch = trades;
                    self.next = 0;
                }
                Ok(Batch::Failed(message)) => {
                    self.done = true;
                    return Err(message);
                }
                Err(_) => self.done = true,
            }
        }
        Ok(Some(self.batch[self.next]))
    }

    /// Moves past the trade `peek` returned.
    pub fn advance(&mut self) {
        self.next = (self.next + 1).min(self.batch.len());
    }
}

impl Drop for InputStream {
    fn drop(&mut self) {
        // Closing the channel first makes a reader blocked on a full channel give up, so the
        // join below cannot wait for the rest of a large file.
        drop(mem::replace(&mut self.receiver, crossbeam_channel::never()));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The reader thread: batches of trades until the file ends, reading fails or nobody listens.
fn read_ahead(input: &FileInput, symbols: &HashMap<String, u32>, sender: &Sender<Batch>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut unknown = None;
    let result = read_trades(input, &mut |t| {
        let Some(&index) = symbols.get(t.symbol) else {
            unknown = Some(t.symbol.to_owned());
            return ControlFlow::Break(());
        };
        batch.push(SimTrade {
            symbol: index,
            ..t.trade
        });
        if batch.len() < BATCH {
            return ControlFlow::Continue(());
        }
        let full = mem::replace(&mut batch, Vec::with_capacity(BATCH));
        match sender.send(Batch::Trades(full)) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    });
    let last = match (result, unknown) {
        (Err(e), _) => Batch::Failed(e.to_string()),
        (Ok(()), Some(symbol)) => Batch::Failed(format!(
            "{}: symbol {symbol} appeared after the file was first read; was it changed?",
            input.path.display()
        )),
        (Ok(()), None) => Batch::Trades(batch),
    };
    // Nobody listening any more is fine: the replay was dropped.
    let _ = sender.send(last);
}
