//! klagg: exact, live Binance klines for every symbol and interval, built from aggTrade streams.
//!
//! The design (data flow, threads, the Binance facts the code respects) is in
//! `docs/architecture.md`. The modules, as the data flows:
//!
//! | module | what it is |
//! |---|---|
//! | [`trade`] | `AggTradePayload`, the small `Copy` trade every stage shares |
//! | [`decimal`] | exact decimal text ⇄ fixed-point 1e-8 integers |
//! | [`interval`] | interval names and period alignment (epoch, Monday weeks, calendar months) |
//! | [`kline`] | one kline, its exact sums and update rule |
//! | [`symbol_name`] | what a symbol name may be (any UTF-8 Binance uses, such as `币安人生USDT`) |
//! | [`percent`] | percent-encoding of names in URLs |
//! | [`ingress`] | exchange frames to payloads: parsing, symbol table, connections, exchangeInfo |
//! | [`aggregator`] | a shard: every kline of its symbols, gaps and corrections, delta pulls |
//! | [`pipeline`] | the running engine: io workers, rings, shards, the consumers' pulls, stopping |
//! | [`backfill`] | the REST thread: gaps filled, open klines warmed at start, tails checked |
//! | [`egress`] | Binance's output formats: kline events, REST rows, stream names, requests |
//! | [`gateway`] | WebSocket streams and REST served like Binance's USD-M or spot API |
//! | [`store`] | the SQLite kline store and its sink thread |
//! | [`metrics`] | Prometheus text of every counter, for the gateway's `/metrics` |
//! | [`latency`] | latency stamps across processes, histograms, `latency-report` |
//! | [`idle`] | how an idle stage waits: spin, yield or park |
//! | [`config`] | the TOML schema, its validation and the resolved plan (`check-config`) |
//! | [`live`] | `klagg run`: start-up, status line, symbols that come and go |
//! | [`replay`] | `klagg replay`: Data Vision files to kline files offline |
//! | [`sim`] | `klagg sim`: a Binance USD-M or spot exchange on loopback, with faults; `klagg blast` ([`sim::blast`]), the load generator of throughput runs |
//! | [`demo`] | `klagg demo`: the simulator and the engine together, checked at the end |
//! | [`oracle`] | the independent kline builder every end-to-end check trusts |
//! | [`check_store`] | `klagg check-store`: a run's stored klines against the oracle |
//! | [`check_host`] | `klagg check-host`: what on this host hurts the pinned threads' latency |
//! | [`duration_arg`] | durations on the command line (`30s`, `2m`) |

pub mod aggregator;
pub mod backfill;
pub mod check_host;
pub mod check_store;
pub mod config;
pub mod decimal;
pub mod demo;
pub mod duration_arg;
pub mod egress;
pub mod gateway;
pub mod idle;
pub mod ingress;
pub mod interval;
pub mod kline;
pub mod latency;
pub mod live;
pub mod metrics;
pub mod nats;
pub mod oracle;
pub mod percent;
pub mod pipeline;
pub mod replay;
pub mod sim;
pub mod store;
pub mod symbol_name;
pub mod trade;
pub mod websocket;
