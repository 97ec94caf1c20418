//! A schema-specific scanner for aggTrade frames: bytes in, trade fields out, in one pass.
//!
//! serde_json spends most of its ~300 ns per frame on generic machinery (field identifiers,
//! visitor dispatch, lenient field types). This scanner knows the ten fields it wants, reads them
//! straight from the bytes and only *skips* everything else. It is deliberately narrow: whenever
//! a frame is not plainly a well-formed aggTrade (an escape in a string it needs, a non-ASCII
//! byte anywhere in a string, a missing or duplicate field, a float where an integer belongs,
//! trailing bytes, unusual nesting...), it answers [`FastParse::Fallback`] and the caller runs
//! [`crate::ingress::wire::parse_frame`], which then succeeds or classifies the error. The rule
//! that keeps it exact: it only returns a trade when serde_json would return the same one, and
//! only calls a frame another event type when serde_json would too. (The latter also keeps
//! nested events such as klines and depth updates off serde's path, which allocates a scratch
//! buffer for nesting.)

use crate::decimal::parse_fixed;
use crate::trade::AggTradePayload;

/// Deepest nesting of unknown values the scanner skips itself (serde_json allows 128); deeper
/// values fall back instead of recursing further.
const MAX_SKIP_DEPTH: u32 = 32;

/// An aggTrade read by the scanner; only the symbol is still text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastTrade<'a> {
    /// Symbol as sent (printable ASCII, no escapes), e.g. `BTCUSDT`.
    pub symbol: &'a [u8],
    /// Price in units of 1e-8.
    pub price: i64,
    /// Quantity in units of 1e-8.
    pub quantity: i64,
    /// Aggregate trade id (`a`).
    pub agg_id: i64,
    /// First raw trade id (`f`).
    pub first_trade_id: i64,
    /// Last raw trade id (`l`).
    pub last_trade_id: i64,
    /// Trade time in ms (`T`).
    pub trade_time_ms: i64,
    /// Event time in ms (`E`).
    pub event_time_ms: i64,
    /// Buyer was the maker (`m`).
    pub is_buyer_maker: bool,
}

impl FastTrade<'_> {
    /// The payload the aggregator takes, under the given symbol index.
    #[inline]
    pub fn to_payload(&self, symbol: u32) -> AggTradePayload {
        AggTradePayload {
            symbol,
            is_buyer_maker: self.is_buyer_maker,
            price: self.price,
            quantity: self.quantity,
            agg_id: self.agg_id,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            trade_time_ms: self.trade_time_ms,
            event_time_ms: self.event_time_ms,
        }
    }
}

/// What the scanner made of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastParse<'a> {
    /// A well-formed aggTrade, raw or combined, exactly as serde_json would read it.
    Trade(FastTrade<'a>),
    /// The payload is a JSON array: a bare `[...]` frame or a combined frame whose `data`
    /// starts with `[` (on klagg's connections, `!miniTicker@arr`). Not validated.
    ArrayPayload,
    /// A well-formed event of another type (`e` is not `aggTrade`), which serde_json would
    /// also read as one.
    OtherEvent,
    /// Anything else: ask serde_json.
    Fallback,
}

/// Scans one frame's payload bytes.
pub fn parse_agg_trade(frame: &[u8]) -> FastParse<'_> {
    let mut c = Cursor { b: frame, i: 0 };
    c.ws();
    match c.peek() {
        Some(b'[') => return FastParse::ArrayPayload,
        Some(b'{') => {}
        _ => return FastParse::Fallback,
    }
    scan_frame(&mut c).unwrap_or(FastParse::Fallback)
}

/// A combined frame's `data` member, as far as seen.
enum Data<'a> {
    Absent,
    Object(Fields<'a>),
    Array,
}

/// Reads the outer object: either the event itself or a `{"stream":..,"data":{..}}` envelope.
#[inline(always)]
fn scan_frame<'a>(c: &mut Cursor<'a>) -> Option<FastParse<'a>> {
    let mut outer = Fields::default();
    let mut data = Data::Absent;
    c.bump(); // `{`
    // Binance's envelope starts `{"stream":"<name>","data":{`: read it by comparison, too.
    let after_value = if c.eat(br#""stream":"#) {
        c.ws();
        let mut ahead = *c;
        *c = match ahead.plain_str() {
            Some(_) => ahead,
            None => c.skipped_lenient()?,
        };
        outer.seen |= STREAM_BIT;
        if c.eat(br#","data":{"#) {
            data = Data::Object(scan_event(c)?);
        }
        true
    } else {
        binance_layout(c, &mut outer)?
    };
    scan_members::<true>(c, &mut outer, &mut data, after_value)?;
    let fields = match data {
        Data::Array => return Some(FastParse::ArrayPayload),
        Data::Absent => outer,
        // Envelope fields serde_json would also read (and type-check) at the outer level are
        // never sent by Binance; leave such frames to serde.
        Data::Object(inner) if outer.seen & ALL_FIELDS == 0 => inner,
        Data::Object(_) => return None,
    };
    c.ws();
    if c.i != c.b.len() {
        return None; // trailing bytes: serde_json errors, let it say so
    }
    fields.finish()
}

/// Reads an event object after its `{`, through its `}`.
#[inline(always)]
fn scan_event<'a>(c: &mut Cursor<'a>) -> Option<Fields<'a>> {
    let mut fields = Fields::default();
    let after_value = binance_layout(c, &mut fields)?;
    scan_members::<false>(c, &mut fields, &mut Data::Absent, after_value)?;
    Some(fields)
}

/// Reads an object's remaining members through its `}`, starting either right after the `{`
/// or right after a member's value. In the outer object (`OUTER`) a `data` member is an
/// envelope's payload and goes to `data`; an array there ends the scan.
#[inline(always)]
fn scan_members<'a, const OUTER: bool>(
    c: &mut Cursor<'a>,
    fields: &mut Fields<'a>,
    data: &mut Data<'a>,
    after_value: bool,
) -> Option<()> {
    if after_value {
        if !c.next_member()? {
            return Some(());
        }
    } else {
        c.ws();
        if c.peek()? == b'}' {
            c.bump();
            return Some(());
        }
    }
    loop {
        let key = c.plain_str()?;
        c.colon()?;
        if OUTER && key == b"data" {
            // serde_json rejects a duplicate `data`; so do we, by falling back.
            if !matches!(data, Data::Absent) {
                return None;
            }
            match c.peek()? {
                b'{' => {
                    c.bump();
                    *data = Data::Object(scan_event(c)?);
                }
                b'[' => {
                    *data = Data::Array;
                    return Some(());
                }
                _ => return None,
            }
        } else {
            member(c, key, fields)?;
        }
        if !c.next_member()? {
            return Some(());
        }
    }
}

/// Binance writes an aggTrade's fields in one order without whitespace:
/// `"e":"aggTrade","E":..,"a":..,"s":"..","p":"..","q":"..",("nq":"..",)"f":..,"l":..,"T":..,"m":..(,"M":..)`.
/// Right after an object's `{`, this reads as much of that layout as is there, comparing whole
/// keys with their separators instead of parsing and dispatching them (measured: a third
/// less time per frame). It stops (and the general loop takes over) at the first byte that differs;
/// returns whether it read any member, i.e. whether the cursor is now after a value.
#[inline(always)]
fn binance_layout<'a>(c: &mut Cursor<'a>, f: &mut Fields<'a>) -> Option<bool> {
    if !c.eat(br#""e":"aggTrade""#) {
        return Some(false);
    }
    // Each field appears once here and first in its object, so no duplicate check is needed.
    f.seen = 1 << 0;
    macro_rules! field {
        ($prefix:literal, $bit:literal, $read:expr) => {
            if !c.eat($prefix) {
                return Some(true);
            }
            c.ws(); // JSON allows it; a failed read must mean a bad value, never layout
            $read;
            f.seen |= 1 << $bit;
        };
    }
    field!(br#","E":"#, 1, f.event_time_ms = c.int()?);
    field!(br#","a":"#, 2, f.agg_id = c.int()?);
    field!(br#","s":"#, 3, f.symbol = c.plain_str()?);
    field!(br#","p":"#, 4, f.price = c.plain_str()?);
    field!(br#","q":"#, 5, f.quantity = c.plain_str()?);
    if c.eat(br#","nq":"#) {
        c.ws();
        // USD-M's notional quantity: not needed. Always a plain string; anything else goes
        // through the general skip.
        let mut ahead = *c;
        *c = match ahead.plain_str() {
            Some(_) => ahead,
            None => c.skipped()?,
        };
    }
    field!(br#","f":"#, 6, f.first_trade_id = c.int()?);
    field!(br#","l":"#, 7, f.last_trade_id = c.int()?);
    field!(br#","T":"#, 8, f.trade_time_ms = c.int()?);
    field!(br#","m":"#, 9, f.is_buyer_maker = c.bool()?);
    if c.eat(br#","M":"#) {
        c.ws();
        c.bool()?; // spot's always-true "ignore" flag
    }
    Some(true)
}

/// Reads one member's value: a wanted field into `fields`, anything else skipped.
#[inline(always)]
fn member<'a>(c: &mut Cursor<'a>, key: &[u8], fields: &mut Fields<'a>) -> Option<()> {
    // aggTrade keys are one byte: dispatch on it (a jump table) instead of comparing slices.
    let [k] = key else {
        return match key {
            // Read (leniently) by serde's event struct, so a duplicate is a serde error there.
            b"stream" => {
                *c = c.skipped_lenient()?;
                fields.set(STREAM_BIT)
            }
            // serde's event struct also reads these (an envelope inside an event, reply
            // fields); they never appear in an aggTrade, so fall back rather than mirror
            // serde's rules for them.
            b"data" | b"result" | b"id" | b"code" => None,
            _ => {
                *c = c.skipped()?;
                Some(())
            }
        };
    };
    let bit = match k {
        b'e' => 0,
        b'E' => 1,
        b'a' => 2,
        b's' => 3,
        b'p' => 4,
        b'q' => 5,
        b'f' => 6,
        b'l' => 7,
        b'T' => 8,
        b'm' => 9,
        _ => {
            *c = c.skipped()?;
            return Some(());
        }
    };
    if fields.other_event && bit >= 2 {
        // Other event types reuse these keys with other types; serde reads them leniently,
        // so only their presence matters (and that serde's reading cannot fail).
        *c = c.skipped_lenient()?;
        return fields.set(1 << bit);
    }
    match bit {
        0 => fields.other_event = c.plain_str()? != b"aggTrade",
        1 => fields.event_time_ms = c.int()?,
        2 => fields.agg_id = c.int()?,
        3 => fields.symbol = c.plain_str()?,
        4 => fields.price = c.plain_str()?,
        5 => fields.quantity = c.plain_str()?,
        6 => fields.first_trade_id = c.int()?,
        7 => fields.last_trade_id = c.int()?,
        8 => fields.trade_time_ms = c.int()?,
        _ => fields.is_buyer_maker = c.bool()?,
    }
    fields.set(1 << bit)
}

/// Every field an aggTrade must have.
const ALL_FIELDS: u16 = (1 << 10) - 1;

/// Marks a `stream` member: allowed anywhere, but only once per object.
const STREAM_BIT: u16 = 1 << 10;

/// The wanted fields of one object, as far as read.
#[derive(Default)]
struct Fields<'a> {
    /// One bit per wanted field already read.
    seen: u16,
    /// `e` named another event type (kline, depthUpdate, bookTicker, ...).
    other_event: bool,
    symbol: &'a [u8],
    price: &'a [u8],
    quantity: &'a [u8],
    agg_id: i64,
    first_trade_id: i64,
    last_trade_id: i64,
    trade_time_ms: i64,
    event_time_ms: i64,
    is_buyer_maker: bool,
}

impl<'a> Fields<'a> {
    /// Marks a field read; a second occurrence is a serde_json error ("duplicate field").
    #[inline(always)]
    fn set(&mut self, bit: u16) -> Option<()> {
        if self.seen & bit != 0 {
            return None;
        }
        self.seen |= bit;
        Some(())
    }

    /// The trade, if every field was present and both decimals are exact; or the news that
    /// this is another event type (serde needs nothing but a well-formed frame to say so).
    #[inline(always)]
    fn finish(self) -> Option<FastParse<'a>> {
        if self.other_event {
            return Some(FastParse::OtherEvent);
        }
        if self.seen & ALL_FIELDS != ALL_FIELDS {
            return None;
        }
        Some(FastParse::Trade(FastTrade {
            symbol: self.symbol,
            price: parse_fixed(self.price).ok()?,
            quantity: parse_fixed(self.quantity).ok()?,
            agg_id: self.agg_id,
            first_trade_id: self.first_trade_id,
            last_trade_id: self.last_trade_id,
            trade_time_ms: self.trade_time_ms,
            event_time_ms: self.event_time_ms,
            is_buyer_maker: self.is_buyer_maker,
        }))
    }
}

/// A position in the frame. Every reader returns `None` for "not what I expected", which the
/// callers turn into [`FastParse::Fallback`] with `?`. `Copy` so that out-of-line readers can
/// take it by value (see [`Cursor::skipped`]).
#[derive(Clone, Copy)]
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn bump(&mut self) {
        self.i += 1;
    }

    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    /// Consumes `lit` if the input continues with it. (`i <= b.len()`, so no overflow.)
    #[inline(always)]
    fn eat(&mut self, lit: &[u8]) -> bool {
        let hit = self.b.get(self.i..self.i + lit.len()) == Some(lit);
        if hit {
            self.i += lit.len();
        }
        hit
    }

    /// Skips JSON whitespace (exactly the four bytes JSON allows). Each is `<= b' '` and no
    /// token starts with such a byte, so the usual case (none) costs one compare.
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b) = self.peek()
            && b <= b' '
            && matches!(b, b' ' | b'\n' | b'\r' | b'\t')
        {
            self.i += 1;
        }
    }

    /// Whitespace, `:`, whitespace.
    #[inline(always)]
    fn colon(&mut self) -> Option<()> {
        self.ws();
        (self.next()? == b':').then_some(())?;
        self.ws();
        Some(())
    }

    /// After a member's value: `,` (true, with the next key's whitespace skipped) or `}`.
    #[inline(always)]
    fn next_member(&mut self) -> Option<bool> {
        self.ws();
        match self.next()? {
            b',' => {
                self.ws();
                Some(true)
            }
            b'}' => Some(false),
            _ => None,
        }
    }

    /// The next 8 bytes as a little-endian word (first byte lowest), if there are 8 left.
    #[inline(always)]
    fn word(&self) -> Option<u64> {
        self.word_at(0)
    }

    /// The 8 bytes `ahead` bytes on as a little-endian word, if they exist.
    #[inline(always)]
    fn word_at(&self, ahead: usize) -> Option<u64> {
        let start = self.i + ahead;
        let bytes = self.b.get(start..start + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// Moves to the first byte that may end or complicate a string (`"`, `\\`, a control
    /// byte or a non-ASCII byte), 16 then 8 bytes at a time while they remain; the callers'
    /// byte loops finish the job. Looking at 16 bytes per step finds the end of most strings
    /// (symbols, prices) in one step, which keeps the position's dependency chain short.
    #[inline(always)]
    fn skip_plain_bytes(&mut self) {
        while let (Some(w1), Some(w2)) = (self.word(), self.word_at(8)) {
            let (s1, s2) = (string_specials(w1), string_specials(w2));
            if s1 != 0 {
                self.i += (s1.trailing_zeros() / 8) as usize;
                return;
            }
            if s2 != 0 {
                self.i += 8 + (s2.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 16;
        }
        while let Some(w) = self.word() {
            let special = string_specials(w);
            if special != 0 {
                self.i += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
    }

    /// A string whose bytes are all printable ASCII and unescaped, returned without quotes.
    /// Such bytes are what serde_json would borrow unchanged, so the text is the same.
    #[inline(always)]
    fn plain_str(&mut self) -> Option<&'a [u8]> {
        if self.next()? != b'"' {
            return None;
        }
        let start = self.i;
        loop {
            self.skip_plain_bytes();
            let b = self.next()?;
            if b == b'"' {
                return Some(&self.b[start..self.i - 1]);
            }
            // Escapes, control bytes (a serde error) and non-ASCII (UTF-8 rules) all go to serde.
            if b == b'\\' || !(0x20..0x80).contains(&b) {
                return None;
            }
        }
    }

    /// Skips a string (after checking it starts with `"`), escapes included, with serde_json's
    /// rules for escapes; non-ASCII bytes fall back because serde_json checks their UTF-8 in
    /// some positions (inside a combined frame's `data`) and not in others.
    fn skip_str(&mut self) -> Option<()> {
        if self.next()? != b'"' {
            return None;
        }
        loop {
            self.skip_plain_bytes();
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            if !self.next()?.is_ascii_hexdigit() {
                                return None;
                            }
                        }
                    }
                    _ => return None,
                },
                b if !(0x20..0x80).contains(&b) => return None,
                _ => {}
            }
        }
    }

    /// A JSON integer that serde_json reads as an `i64`: `-?(0|[1-9][0-9]*)` not followed by a
    /// fraction or exponent, within range. `-0` is excluded because serde_json reads it as a
    /// float.
    #[inline(always)]
    fn int(&mut self) -> Option<i64> {
        let negative = self.peek()? == b'-';
        if negative {
            self.bump();
        }
        let start = self.i;
        let value = self.digits_value()?;
        let n = self.i - start;
        if n == 0 || (n > 1 && self.b[start] == b'0') {
            return None; // no digit, or a leading zero
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        if negative {
            if value == 0 {
                return None;
            }
            0i64.checked_sub_unsigned(value)
        } else {
            i64::try_from(value).ok()
        }
    }

    /// Reads a run of up to 19 ASCII digits as a number; more than 19 digits: `None`.
    ///
    /// Ids and millisecond times have 10 to 13 digits, so the common case looks at 16 bytes
    /// at once: the run's length comes from both words in parallel (the position is what the
    /// rest of the scan waits for) and its value from at most two 8-digit conversions.
    #[inline(always)]
    fn digits_value(&mut self) -> Option<u64> {
        if let (Some(w1), Some(w2)) = (self.word(), self.word_at(8)) {
            let n1 = leading_digits(w1);
            let n = if n1 < 8 { n1 } else { 8 + leading_digits(w2) };
            if n < 16 {
                self.i += n;
                return Some(if n <= 8 {
                    // Digits shifted to the top bytes; the zero bytes below read as leading
                    // zeros. No digit at all (a shift by 64) reads as 0.
                    eight_digits(w1.checked_shl(64 - 8 * n as u32).unwrap_or(0))
                } else {
                    eight_digits(w1) * POW10[n - 8] + eight_digits(w2 << (8 * (16 - n)))
                });
            }
        }
        // Near the end of the frame, or 16 digits or more: one byte at a time.
        let mut value: u64 = 0;
        let mut total = 0;
        while let Some(d) = self
            .peek()
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|&d| d <= 9)
        {
            if total == 19 {
                return None;
            }
            // At most 19 digits: below 10^19 < 2^64.
            value = value * 10 + u64::from(d);
            total += 1;
            self.bump();
        }
        Some(value)
    }

    /// `true` or `false`.
    #[inline(always)]
    fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    /// `word`, or `None`.
    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.eat(word).then_some(())
    }

    /// Skips any JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        if self.peek()? == b'-' {
            self.bump();
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.bump();
            self.peek()?.is_ascii_digit().then_some(())?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.bump();
            if let Some(b'+' | b'-') = self.peek() {
                self.bump();
            }
            self.peek()?.is_ascii_digit().then_some(())?;
            self.digits();
        }
        // A digit right after `0` (`01`) is invalid JSON; the caller's separator check
        // rejects it since a digit is neither `,` nor `}` nor `]`.
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.bump();
        }
    }

    /// Skips an unknown member's value: out of line and by value, so the hot scanner's own
    /// cursor never has its address taken and stays in registers.
    #[inline(never)]
    fn skipped(mut self) -> Option<Self> {
        self.skip_value(0)?;
        Some(self)
    }

    /// Skips the value of a field serde reads leniently (`deserialize_any`, for `stream` and
    /// for another event type's reuse of aggTrade keys). That reading is stricter than a skip
    /// for some values: it decodes strings (a lone surrogate escape is an error), converts
    /// numbers (`1e999` is out of range) and decodes the keys of an object. Only values for
    /// which it cannot fail pass; the rest fall back. Out of line and by value as above.
    #[inline(never)]
    fn skipped_lenient(mut self) -> Option<Self> {
        match self.peek()? {
            b'"' => self.plain_str().map(drop)?,
            b'-' | b'0'..=b'9' => self.int().map(drop)?,
            // Array elements are skipped by serde too, without decoding.
            b'[' | b't' | b'f' | b'n' => self.skip_value(0)?,
            _ => return None,
        }
        Some(self)
    }

    /// Skips any JSON value, nested up to [`MAX_SKIP_DEPTH`].
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_str(),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'[' | b'{' if depth >= MAX_SKIP_DEPTH => None,
            b'[' => {
                self.bump();
                self.ws();
                if self.peek()? == b']' {
                    self.bump();
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.bump();
                self.ws();
                if self.peek()? == b'}' {
                    self.bump();
                    return Some(());
                }
                loop {
                    self.skip_str()?;
                    self.colon()?;
                    self.skip_value(depth + 1)?;
                    if !self.next_member()? {
                        return Some(());
                    }
                }
            }
            _ => None,
        }
    }
}

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
const HIGHS: u64 = 0x8080_8080_8080_8080;
/// Powers of ten up to 10^8, for combining digit groups.
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Flags (high bit set) the bytes of `w` equal to `b`. Borrows can also flag bytes above the
/// lowest true one, so only the lowest flag is exact: the callers only use that one.
#[inline(always)]
fn bytes_eq(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Flags the bytes of `w` below `n` (`n <= 128`); the lowest flag is exact, as above.
#[inline(always)]
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Flags the bytes of `w` a plain string cannot hold: `"`, `\\`, control bytes, non-ASCII.
/// The lowest flag is exact (see [`bytes_eq`]).
#[inline(always)]
fn string_specials(w: u64) -> u64 {
    bytes_eq(w, b'"') | bytes_eq(w, b'\\') | bytes_below(w, 0x20) | (w & HIGHS)
}

/// How many of the first bytes of `w` (lowest first) are ASCII digits, 0 to 8.
#[inline(always)]
fn leading_digits(w: u64) -> usize {
    // A byte is a digit iff its high nibble is 3 and adding 6 keeps it 3 (so the low nibble
    // is at most 9). The carry of `+ 6` out of a byte >= 0xFA can disturb only later bytes, and
    // that byte is itself a non-digit, so the first non-digit is still found exactly.
    let t = (w & 0xF0F0_F0F0_F0F0_F0F0)
        | ((w.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4);
    let non_digit = t ^ 0x3333_3333_3333_3333;
    (non_digit.trailing_zeros() / 8) as usize
}

/// The value of 8 ASCII digits packed little-endian (first digit lowest); zero bytes in the
/// lowest positions read as leading zeros. Three multiply-shift steps combine pairs, then
/// fours, then the two halves.
#[inline(always)]
fn eight_digits(w: u64) -> u64 {
    let w = w & 0x0F0F_0F0F_0F0F_0F0F;
    let w = (w.wrapping_mul(10 << 8 | 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let w = (w.wrapping_mul(100 << 16 | 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    w.wrapping_mul(10_000 << 32 | 1) >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = r#"{"e":"aggTrade","E":1672515782136,"a":12345,"s":"BTCUSDT","p":"37000.10","q":"0.005","nq":"0.005","f":100,"l":105,"T":1672515782130,"m":true}"#;

    fn trade(frame: &str) -> FastTrade<'_> {
        match parse_agg_trade(frame.as_bytes()) {
            FastParse::Trade(t) => t,
            other => panic!("expected a trade from {frame}, got {other:?}"),
        }
    }

    fn falls_back(frame: &str) {
        assert_eq!(
            parse_agg_trade(frame.as_bytes()),
            FastParse::Fallback,
            "{frame}"
        );
    }

    #[test]
    fn reads_raw_and_combined_frames() {
        let t = trade(RAW);
        assert_eq!(t.symbol, b"BTCUSDT");
        assert_eq!((t.price, t.quantity), (3_700_010_000_000, 500_000));
        assert_eq!(
            (t.agg_id, t.first_trade_id, t.last_trade_id),
            (12345, 100, 105)
        );
        assert_eq!(
            (t.trade_time_ms, t.event_time_ms),
            (1672515782130, 1672515782136)
        );
        assert!(t.is_buyer_maker);
        let combined = format!(r#"{{"stream":"btcusdt@aggTrade","data":{RAW}}}"#);
        assert_eq!(trade(&combined), t);
        let spaced = " {\n \"data\" :\t{ \"m\" : false , \"T\":1,\"l\":2,\"f\":-2,\"q\":\"1\",\"p\":\"2\",\"s\":\"X\",\"a\":0,\"E\":3,\"e\":\"aggTrade\",\"M\":true} , \"stream\":[1,{\"k\":\"\\u00e9\\n\"}] }\r\n";
        let t = trade(spaced);
        assert_eq!(
            (t.symbol, t.first_trade_id, t.is_buyer_maker),
            (&b"X"[..], -2, false)
        );
    }

    #[test]
    fn skips_unknown_values_of_every_type() {
        let frame = RAW.replace(
            r#""nq":"0.005""#,
            r#""x":null,"y":[true,false,null,-1.5e+3,0,{"a":[]}],"z":{"w":"q\"\\\/\b\f\n\r\t\u12aB"},"v":{}"#,
        );
        assert_eq!(trade(&frame).agg_id, 12345);
    }

    #[test]
    fn arrays_are_reported_not_parsed() {
        assert_eq!(parse_agg_trade(b" [1,2"), FastParse::ArrayPayload);
        assert_eq!(
            parse_agg_trade(br#"{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker"}]}"#),
            FastParse::ArrayPayload
        );
    }

    #[test]
    fn defers_anything_unusual_to_serde() {
        for (from, to) in [
            (r#""s":"BTCUSDT""#, r#""s":"BTC\u0055SDT""#), // escape in a wanted string
            (r#""nq":"0.005""#, r#""nq":"é""#),            // non-ASCII anywhere
            (r#""a":12345"#, r#""a":12345.0"#),            // float id
            (r#""a":12345"#, r#""a":012345"#),             // leading zero
            (r#""a":12345"#, r#""a":-0"#),                 // serde reads -0 as a float
            (r#""a":12345"#, r#""a":99999999999999999999"#), // overflow
            (r#""a":12345"#, r#""a":"12345""#),            // wrong type
            (r#""m":true"#, r#""m":1"#),
            (r#""nq":"0.005""#, r#""a":1"#),       // duplicate
            (r#""nq":"0.005""#, r#""id":1"#),      // a reply field
            (r#""nq":"0.005""#, r#""x":01"#),      // invalid skipped number
            (r#""nq":"0.005""#, r#""x":"\x""#),    // invalid escape
            (r#""p":"37000.10""#, r#""p":"1e5""#), // not an exact decimal
            (r#""p":"37000.10","#, ""),            // missing field
        ] {
            assert!(RAW.contains(from));
            falls_back(&RAW.replacen(from, to, 1));
        }
        falls_back(&format!("{RAW} x"));
        falls_back(&RAW[..RAW.len() - 1]);
        falls_back(&format!(r#"{{"e":"x","data":{RAW}}}"#));
        falls_back(&format!(r#"{{"data":{RAW},"data":{RAW}}}"#));
        falls_back(&format!(r#"{{"stream":1,"data":{RAW},"stream":2}}"#));
        falls_back(&format!(r#"{{"data":{RAW}}}"#).replace("\"e\"", "\"data\""));
        falls_back(&format!(
            r#"{{"x":{}1{},{}"#,
            "[".repeat(40),
            "]".repeat(40),
            &RAW[1..]
        ));
        falls_back("");
        falls_back("{}");
        falls_back("nul");
    }

    #[test]
    fn other_events_are_recognised_with_serde_s_rules() {
        let depth = r#"{"stream":"x@depth","data":{"e":"depthUpdate","E":1,"T":2,"s":"X","U":1,"u":2,"pu":0,"b":[["1.0","2"]],"a":[]}}"#;
        let kline =
            r#"{"e":"kline","E":1,"s":"X","k":{"t":0,"T":59999,"s":"X","i":"1m","x":false}}"#;
        let book =
            r#"{"e":"bookTicker","u":1,"s":"X","b":"1","B":"2","a":"3","A":"4","T":1,"E":2}"#;
        for frame in [depth, kline, book] {
            assert_eq!(
                parse_agg_trade(frame.as_bytes()),
                FastParse::OtherEvent,
                "{frame}"
            );
        }
        // serde types `E` strictly and rejects duplicates, so these are errors there.
        falls_back(&kline.replace(r#""E":1"#, r#""E":"1""#));
        falls_back(&book.replace(r#""B":"2""#, r#""a":"2""#));
        // Lenient fields whose full reading fails in serde: an out-of-range float, a lone
        // surrogate, an object (serde decodes its keys).
        falls_back(&book.replace(r#""a":"3""#, r#""a":1e999"#));
        falls_back(&book.replace(r#""a":"3""#, r#""a":"\ud800""#));
        falls_back(&book.replace(r#""a":"3""#, r#""a":{"\ud800":1}"#));
        falls_back(&format!(r#"{{"stream":{{"\ud800":1}},"data":{RAW}}}"#));
        // No `e` at all (spot bookTicker): serde names it from the stream.
        falls_back(r#"{"stream":"x@bookTicker","data":{"u":1,"s":"X","b":"1"}}"#);
    }

    #[test]
    fn integer_reader_matches_std_at_every_length_and_tail_position() {
        let digits = "98765432109876543210";
        for len in 1..=digits.len() {
            for text in [&digits[..len], &digits[digits.len() - len..]] {
                for tail in ["", ",", "}   ", "]          ", "x0123456789"] {
                    for sign in ["", "-"] {
                        let input = format!("{sign}{text}{tail}");
                        let mut c = Cursor {
                            b: input.as_bytes(),
                            i: 0,
                        };
                        // JSON forbids leading zeros; serde_json reads `-0` as a float.
                        let want = if text.starts_with('0') && (len > 1 || sign == "-") {
                            None
                        } else {
                            format!("{sign}{text}").parse::<i64>().ok()
                        };
                        assert_eq!(c.int(), want, "{input}");
                        if want.is_some() {
                            assert_eq!(c.i, sign.len() + len, "{input}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn word_helpers_match_bytewise_definitions() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bias bytes towards digits and the specials so every branch is hit.
            let mut w = x;
            for k in 0..8 {
                if (x >> (k + 56)) & 1 == 1 {
                    let b = b"0123456789\"\\\x1f "[((x >> (8 * k)) % 14) as usize];
                    w = (w & !(0xFF << (8 * k))) | (u64::from(b) << (8 * k));
                }
            }
            let bytes = w.to_le_bytes();
            let n = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            assert_eq!(leading_digits(w), n, "{bytes:?}");
            if n > 0 {
                let text = std::str::from_utf8(&bytes[..n]).unwrap();
                assert_eq!(
                    eight_digits(w << (8 * (8 - n))),
                    text.parse::<u64>().unwrap()
                );
            }
            let special = string_specials(w);
            let first = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b));
            assert_eq!(
                (special != 0).then(|| special.trailing_zeros() as usize / 8),
                first
            );
        }
    }

    #[test]
    fn integers_cover_the_whole_i64_range() {
        let max = RAW.replace("12345", &i64::MAX.to_string());
        assert_eq!(trade(&max).agg_id, i64::MAX);
        let min = RAW.replace("12345", &i64::MIN.to_string());
        assert_eq!(trade(&min).agg_id, i64::MIN);
        falls_back(&RAW.replace("12345", "9223372036854775808"));
        falls_back(&RAW.replace("12345", "-9223372036854775809"));
    }
}
