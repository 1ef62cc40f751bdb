//! The parts of the MySQL client/server protocol the prober speaks, by hand:
//! packet framing, the server's initial handshake (v10), the SSLRequest and
//! HandshakeResponse41 packets, OK / ERR / EOF packets, AuthSwitchRequest, and a
//! text-protocol result set (column count, column definitions, rows).
//!
//! Every parser here takes bytes from the network: it never indexes past what it
//! checked, and a truncated or garbage packet is a [`WireError`], never a panic.
//! Lengths a peer announces are checked against [`MAX_PACKET`] before anything is
//! allocated.

use std::fmt;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest packet payload read: the greeting, auth packets and one row each
/// fit in far less. A longer packet (or one split over several, at 16 MiB) fails
/// the run rather than grow a buffer a peer chose.
pub const MAX_PACKET: usize = 1 << 20;

/// The most columns a result set may announce (MySQL's own limit per table).
pub const MAX_COLUMNS: u64 = 4096;

// Capability flags (https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html).
pub const CLIENT_LONG_PASSWORD: u32 = 1;
pub const CLIENT_LONG_FLAG: u32 = 1 << 2;
pub const CLIENT_PROTOCOL_41: u32 = 1 << 9;
pub const CLIENT_SSL: u32 = 1 << 11;
pub const CLIENT_TRANSACTIONS: u32 = 1 << 13;
pub const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
pub const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
pub const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;

/// utf8mb3_general_ci: every server since 4.1 knows it; the probe sends ASCII.
const CHARSET: u8 = 33;
/// The largest packet the client says it accepts.
const CLIENT_MAX_PACKET: u32 = 1 << 24;

/// Why bytes from the server are not what the protocol says they must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the server closed the connection")]
    Closed,
    #[error("{what} is truncated")]
    Truncated { what: &'static str },
    #[error("the server announced a packet of {len} bytes (more than the {MAX_PACKET} read)")]
    TooLarge { len: usize },
    #[error("{0}")]
    Invalid(String),
    #[error("reading from the server: {0}")]
    Io(String),
}

/// A cursor over a packet's payload; every read is checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, what }
    }

    fn short(&self) -> WireError {
        WireError::Truncated { what: self.what }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.bytes.len() {
            return Err(self.short());
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, WireError> {
        let (first, rest) = self.bytes.split_first().ok_or_else(|| self.short())?;
        self.bytes = rest;
        Ok(*first)
    }

    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string, or the rest when no NUL follows (some servers
    /// leave the last string of a packet unterminated).
    pub fn nul_str(&mut self) -> &'a [u8] {
        match self.bytes.iter().position(|b| *b == 0) {
            Some(i) => {
                let (s, rest) = self.bytes.split_at(i);
                self.bytes = rest.get(1..).unwrap_or_default();
                s
            }
            None => self.rest(),
        }
    }

    /// A length-encoded integer; `None` for 0xFB (NULL in a row).
    pub fn lenenc(&mut self) -> Result<Option<u64>, WireError> {
        let first = self.u8()?;
        let n = match first {
            0xFB => return Ok(None),
            0xFC => u64::from(self.u16()?),
            0xFD => {
                let b = self.take(3)?;
                u64::from(u32::from_le_bytes([b[0], b[1], b[2], 0]))
            }
            0xFE => {
                let b = self.take(8)?;
                u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            0xFF => {
                return Err(WireError::Invalid(format!(
                    "{}: 0xFF is not a length-encoded integer",
                    self.what
                )))
            }
            n => u64::from(n),
        };
        Ok(Some(n))
    }

    /// A length-encoded string; `None` for NULL.
    pub fn lenenc_bytes(&mut self) -> Result<Option<&'a [u8]>, WireError> {
        match self.lenenc()? {
            None => Ok(None),
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| self.short())?;
                self.take(n).map(Some)
            }
        }
    }
}

/// A connection to the server: packets in and out with their sequence numbers.
pub struct Conn<S> {
    pub stream: S,
    /// The sequence number of the next packet sent.
    pub seq: u8,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(stream: S) -> Self {
        Conn { stream, seq: 0 }
    }

    /// Reads one packet's payload; the next packet sent follows its sequence number.
    pub async fn read(&mut self) -> Result<Vec<u8>, WireError> {
        let mut header = [0u8; 4];
        self.stream
            .read_exact(&mut header)
            .await
            .map_err(read_error)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        if len > MAX_PACKET {
            return Err(WireError::TooLarge { len });
        }
        self.seq = header[3].wrapping_add(1);
        let mut payload = vec![0u8; len];
        self.stream
            .read_exact(&mut payload)
            .await
            .map_err(read_error)?;
        Ok(payload)
    }

    /// Sends one packet (payloads here are far below 16 MiB).
    pub async fn write(&mut self, payload: &[u8]) -> Result<(), WireError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l < 0xFF_FFFF)
            .ok_or_else(|| WireError::Invalid("packet too large to send".into()))?;
        let mut packet = Vec::with_capacity(payload.len() + 4);
        packet.extend_from_slice(&len.to_le_bytes()[..3]);
        packet.push(self.seq);
        packet.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        let io = |e: std::io::Error| WireError::Io(e.to_string());
        self.stream.write_all(&packet).await.map_err(io)?;
        self.stream.flush().await.map_err(io)
    }

    /// Starts a new command (COM_QUERY, COM_QUIT): sequence numbers restart at 0.
    pub fn new_command(&mut self) {
        self.seq = 0;
    }
}

fn read_error(e: std::io::Error) -> WireError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        WireError::Closed
    } else {
        WireError::Io(e.to_string())
    }
}

/// The server's initial handshake packet (protocol version 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub protocol: u8,
    /// As sent (MariaDB prefixes `5.5.5-`, see [`Greeting::version`]).
    pub server_version: String,
    pub connection_id: u32,
    pub capabilities: u32,
    /// The nonce the password is scrambled with (20 bytes from current servers).
    pub scramble: Vec<u8>,
    /// The authentication method the server expects first; empty without
    /// `CLIENT_PLUGIN_AUTH` (then `mysql_native_password`).
    pub auth_plugin: String,
}

impl Greeting {
    /// The server's version: MariaDB sends `5.5.5-10.11.6-MariaDB...` so that old
    /// clients see a version they accept; the prefix is dropped, as MariaDB's own
    /// connectors do.
    pub fn version(&self) -> &str {
        match self.server_version.strip_prefix("5.5.5-") {
            Some(rest) if rest.contains("MariaDB") => rest,
            _ => &self.server_version,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.capabilities & flag != 0
    }
}

/// What the server's first packet was: its greeting, or an error (too many
/// connections, a host not allowed to connect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstPacket {
    Greeting(Greeting),
    Error(ServerError),
}

/// Parses the server's first packet.
pub fn parse_first_packet(payload: &[u8]) -> Result<FirstPacket, WireError> {
    if payload.first() == Some(&0xFF) {
        return parse_err(payload).map(FirstPacket::Error);
    }
    parse_greeting(payload).map(FirstPacket::Greeting)
}

/// Parses an initial handshake v10.
pub fn parse_greeting(payload: &[u8]) -> Result<Greeting, WireError> {
    let mut r = Reader::new(payload, "the server's greeting");
    let protocol = r.u8()?;
    if protocol != 10 {
        return Err(WireError::Invalid(format!(
            "not a MySQL greeting: protocol version {protocol} (a MySQL server since 3.21 sends 10)"
        )));
    }
    let version = r.nul_str();
    if version.len() > 256 || !version.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Err(WireError::Invalid(
            "not a MySQL greeting: the server version is not printable text".into(),
        ));
    }
    let server_version = String::from_utf8_lossy(version).into_owned();
    let connection_id = r.u32()?;
    let mut scramble = r.take(8)?.to_vec();
    r.u8()?; // filler
    let mut capabilities = u32::from(r.u16()?);
    let mut auth_plugin = String::new();
    if !r.is_empty() {
        r.u8()?; // character set
        r.u16()?; // status flags
        capabilities |= u32::from(r.u16()?) << 16;
        let data_len = r.u8()?;
        r.take(10)?; // reserved (MariaDB: its extended capabilities)
        if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let part2 = usize::from(data_len).saturating_sub(8).max(13);
            let part2 = r.take(part2)?;
            // The part ends with a NUL that is not part of the nonce.
            let part2 = part2.strip_suffix(&[0]).unwrap_or(part2);
            scramble.extend_from_slice(part2);
        }
        if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            auth_plugin = plugin_name(r.nul_str())?;
        }
    }
    Ok(Greeting {
        protocol,
        server_version,
        connection_id,
        capabilities,
        scramble,
        auth_plugin,
    })
}

fn plugin_name(bytes: &[u8]) -> Result<String, WireError> {
    if bytes.len() > 64 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return Err(WireError::Invalid(
            "the authentication method's name is not printable text".into(),
        ));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// The capabilities the client asks for, given the server's.
pub fn client_capabilities(server: u32, tls: bool) -> u32 {
    let mut caps = CLIENT_LONG_PASSWORD
        | CLIENT_LONG_FLAG
        | CLIENT_PROTOCOL_41
        | CLIENT_TRANSACTIONS
        | CLIENT_SECURE_CONNECTION
        | CLIENT_PLUGIN_AUTH
        | CLIENT_DEPRECATE_EOF;
    if tls {
        caps |= CLIENT_SSL;
    }
    // TLS is asked for only of a server that offers it (the prober checks first).
    caps & server
}

/// The SSLRequest packet: the first 32 bytes of a HandshakeResponse41.
pub fn ssl_request(caps: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(32);
    p.extend_from_slice(&caps.to_le_bytes());
    p.extend_from_slice(&CLIENT_MAX_PACKET.to_le_bytes());
    p.push(CHARSET);
    p.extend_from_slice(&[0; 23]);
    p
}

/// A HandshakeResponse41 logging in as `user` with `auth` (the scrambled
/// password) for the method `plugin`.
pub fn handshake_response(caps: u32, user: &str, auth: &[u8], plugin: &str) -> Vec<u8> {
    let mut p = ssl_request(caps);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    // CLIENT_SECURE_CONNECTION: a one-byte length. Scrambles are 20 or 32 bytes.
    let auth = auth.get(..auth.len().min(255)).unwrap_or_default();
    p.push(auth.len() as u8);
    p.extend_from_slice(auth);
    if caps & CLIENT_PLUGIN_AUTH != 0 {
        p.extend_from_slice(plugin.as_bytes());
        p.push(0);
    }
    p
}

/// An ERR packet: the server's error code, SQLSTATE and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    /// Empty when the server sent none (errors before the handshake).
    pub sqlstate: String,
    pub message: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server error {}", self.code)?;
        match (code_name(self.code), self.sqlstate.is_empty()) {
            (Some(name), true) => write!(f, " ({name})")?,
            (Some(name), false) => write!(f, " ({name}, SQLSTATE {})", self.sqlstate)?,
            (None, false) => write!(f, " (SQLSTATE {})", self.sqlstate)?,
            (None, true) => {}
        }
        write!(f, ": {}", crate::probe::sql::quoted(&self.message))
    }
}

/// Parses an ERR packet (its first byte 0xFF).
pub fn parse_err(payload: &[u8]) -> Result<ServerError, WireError> {
    let mut r = Reader::new(payload, "an error packet");
    if r.u8()? != 0xFF {
        return Err(WireError::Invalid("not an error packet".into()));
    }
    let code = r.u16()?;
    let mut rest = r.rest();
    let mut sqlstate = String::new();
    if let Some(after) = rest.strip_prefix(b"#") {
        if let Some((state, message)) = after.split_at_checked(5) {
            sqlstate = String::from_utf8_lossy(state).into_owned();
            rest = message;
        }
    }
    Ok(ServerError {
        code,
        sqlstate,
        message: String::from_utf8_lossy(rest).into_owned(),
    })
}

/// What the server answered a login packet with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthReply {
    Ok,
    Error(ServerError),
    /// AuthSwitchRequest: log in again with `plugin` and its nonce.
    Switch {
        plugin: String,
        data: Vec<u8>,
    },
    /// AuthMoreData: a method's own next step (caching_sha2_password's 3 or 4).
    MoreData(Vec<u8>),
}

pub fn parse_auth_reply(payload: &[u8]) -> Result<AuthReply, WireError> {
    let mut r = Reader::new(payload, "the server's answer to the login");
    match r.u8()? {
        0x00 => Ok(AuthReply::Ok),
        0xFF => parse_err(payload).map(AuthReply::Error),
        0xFE if payload.len() == 1 => Err(WireError::Invalid(
            "the server asks for the pre-4.1 password method, which is not supported".into(),
        )),
        0xFE => {
            let plugin = plugin_name(r.nul_str())?;
            let data = r.rest();
            let data = data.strip_suffix(&[0]).unwrap_or(data);
            Ok(AuthReply::Switch {
                plugin,
                data: data.to_vec(),
            })
        }
        0x01 => Ok(AuthReply::MoreData(r.rest().to_vec())),
        other => Err(WireError::Invalid(format!(
            "the server answered the login with a packet of type 0x{other:02X}"
        ))),
    }
}

/// Whether `payload` ends a list of rows or column definitions: an EOF packet,
/// or, with `CLIENT_DEPRECATE_EOF`, the OK packet in its place (both start with
/// 0xFE; a row starting so would need a value of 16 MiB, past [`MAX_PACKET`]).
pub fn is_eof(payload: &[u8]) -> bool {
    payload.first() == Some(&0xFE) && payload.len() < 0xFF_FFFF
}

/// The first packet of a COM_QUERY response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryReply {
    /// An OK packet: the statement returns no result set.
    Ok,
    Error(ServerError),
    /// A result set of this many columns follows.
    Columns(u64),
    /// LOCAL INFILE: the server asks for a file of the client's.
    LocalInfile,
}

pub fn parse_query_reply(payload: &[u8]) -> Result<QueryReply, WireError> {
    match payload.first() {
        None => Err(WireError::Truncated {
            what: "the query's answer",
        }),
        Some(0x00) => Ok(QueryReply::Ok),
        Some(0xFF) => parse_err(payload).map(QueryReply::Error),
        Some(0xFB) => Ok(QueryReply::LocalInfile),
        Some(_) => {
            let mut r = Reader::new(payload, "the query's column count");
            match r.lenenc()? {
                Some(n) if n > 0 && n <= MAX_COLUMNS => Ok(QueryReply::Columns(n)),
                Some(n) => Err(WireError::Invalid(format!(
                    "the query's answer announces {n} columns (1 to {MAX_COLUMNS} are read)"
                ))),
                None => Err(WireError::Invalid(
                    "the query's answer starts with NULL".into(),
                )),
            }
        }
    }
}

/// The name of a column from its definition packet (Protocol::ColumnDefinition41:
/// catalog, schema, table, org_table, name, ...).
pub fn column_name(payload: &[u8]) -> Result<String, WireError> {
    let mut r = Reader::new(payload, "a column definition");
    for _ in 0..4 {
        r.lenenc_bytes()?;
    }
    let name = r.lenenc_bytes()?.unwrap_or_default();
    Ok(String::from_utf8_lossy(name).into_owned())
}

/// The value of column `index` of a text-protocol row: `None` for NULL.
pub fn row_value(payload: &[u8], index: usize) -> Result<Option<String>, WireError> {
    let mut r = Reader::new(payload, "a row");
    for _ in 0..index {
        r.lenenc_bytes()?;
    }
    Ok(r.lenenc_bytes()?
        .map(|v| String::from_utf8_lossy(v).into_owned()))
}

/// COM_QUERY with `sql`.
pub fn com_query(sql: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(sql.len() + 1);
    p.push(0x03);
    p.extend_from_slice(sql.as_bytes());
    p
}

/// COM_QUIT: the polite end of a session.
pub const COM_QUIT: [u8; 1] = [0x01];

/// Server error codes in words (the common ones a probe meets); the server's own
/// message follows in every failure.
pub fn code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1040 => "too many connections",
        1044 => "access denied to the database",
        1045 => "access denied",
        1049 => "unknown database",
        1054 => "unknown column",
        1064 => "SQL syntax error",
        1129 => "host blocked after too many connection errors",
        1130 => "host not allowed to connect",
        1142 | 1143 => "command denied",
        1146 => "table does not exist",
        1203 => "user has too many connections",
        1226 => "user resource limit reached",
        1227 => "privilege missing",
        1251 => "authentication method not supported by the client",
        1317 => "query interrupted",
        1969 | 3024 => "query timed out on the server",
        3118 => "account locked",
        3159 => "connection must use TLS",
        1862 | 1820 => "password expired",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MariaDB 10.11's greeting as read off a real server (no TLS configured).
    const MARIADB: &[u8] = b"\n5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x05\x00\x00\x00k]qB4{3*\x00\xfe\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00v8Qo[\\9H=8@x\x00mysql_native_password\x00";

    #[test]
    fn a_real_greeting() {
        let g = parse_greeting(MARIADB).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.protocol, 10);
        assert_eq!(g.server_version, "5.5.5-10.11.19-MariaDB-0+deb12u1");
        assert_eq!(g.version(), "10.11.19-MariaDB-0+deb12u1");
        assert_eq!(g.connection_id, 5);
        assert_eq!(g.scramble, b"k]qB4{3*v8Qo[\\9H=8@x");
        assert_eq!(g.auth_plugin, "mysql_native_password");
        assert!(g.has(CLIENT_PROTOCOL_41) && g.has(CLIENT_PLUGIN_AUTH));
        assert!(!g.has(CLIENT_SSL));
        assert!(g.has(CLIENT_DEPRECATE_EOF));
        assert!(matches!(
            parse_first_packet(MARIADB),
            Ok(FirstPacket::Greeting(_))
        ));
    }

    #[test]
    fn mysql_versions_are_kept_whole() {
        let mut g = parse_greeting(MARIADB).unwrap_or_else(|e| panic!("{e}"));
        g.server_version = "8.0.36".into();
        assert_eq!(g.version(), "8.0.36");
        g.server_version = "5.5.5-custom".into();
        assert_eq!(g.version(), "5.5.5-custom");
    }

    #[test]
    fn every_truncation_of_a_greeting_fails_without_panic() {
        for n in 0..MARIADB.len() {
            let cut = &MARIADB[..n];
            // Cuts inside the optional tail are accepted only where the
            // protocol allows the packet to end.
            if let Ok(g) = parse_greeting(cut) {
                assert!(n == 49 || n >= 78, "{n}: {g:?}");
            }
        }
        assert!(matches!(
            parse_greeting(&MARIADB[..10]),
            Err(WireError::Truncated { .. })
        ));
    }

    #[test]
    fn garbage_is_not_a_greeting() {
        for bad in [
            &b""[..],
            b"HTTP/1.1 400 Bad Request\r\n",
            b"SSH-2.0-OpenSSH_9.2\r\n",
            b"\x0a\x01\x02\x03",
            b"\x0a\xff\xfe\x00",
            &[0xFF],
        ] {
            assert!(parse_first_packet(bad).is_err(), "{bad:?}");
        }
        let e = parse_greeting(b"HTTP/1.1 200").map(drop);
        assert_eq!(
            e,
            Err(WireError::Invalid(
                "not a MySQL greeting: protocol version 72 (a MySQL server since 3.21 sends 10)"
                    .into()
            ))
        );
    }

    #[test]
    fn error_packets() {
        let p = b"\xff\x15\x04#28000Access denied for user 'x'@'localhost' (using password: YES)";
        let e = parse_err(p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.code, 1045);
        assert_eq!(e.sqlstate, "28000");
        assert_eq!(
            e.to_string(),
            "server error 1045 (access denied, SQLSTATE 28000): \
             \"Access denied for user 'x'@'localhost' (using password: YES)\""
        );
        // Before the handshake there is no SQLSTATE.
        let p = b"\xff\x10\x04Too many connections";
        match parse_first_packet(p) {
            Ok(FirstPacket::Error(e)) => {
                assert_eq!(e.code, 1040);
                assert_eq!(e.sqlstate, "");
                assert_eq!(
                    e.to_string(),
                    "server error 1040 (too many connections): \"Too many connections\""
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_err(b"\xff\x10").is_err());
        assert!(parse_err(b"\xff").is_err());
        let e = parse_err(b"\xff\x01\x00#12").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (e.code, e.sqlstate.as_str(), e.message.as_str()),
            (1, "", "#12")
        );
        assert_eq!(
            parse_err(b"\xff\x01\x00").map(|e| e.to_string()),
            Ok("server error 1: \"\"".to_string())
        );
    }

    #[test]
    fn auth_replies() {
        assert_eq!(
            parse_auth_reply(b"\x00\x00\x00\x02\x00\x00\x00"),
            Ok(AuthReply::Ok)
        );
        assert_eq!(
            parse_auth_reply(b"\xfecaching_sha2_password\x00abcdefghij0123456789\x00"),
            Ok(AuthReply::Switch {
                plugin: "caching_sha2_password".into(),
                data: b"abcdefghij0123456789".to_vec()
            })
        );
        assert_eq!(
            parse_auth_reply(b"\x01\x03"),
            Ok(AuthReply::MoreData(vec![3]))
        );
        assert!(parse_auth_reply(b"\xfe").is_err());
        assert!(parse_auth_reply(b"").is_err());
        assert!(parse_auth_reply(b"\x42").is_err());
        assert!(parse_auth_reply(b"\xfe\x01\x02\x00").is_err());
    }

    #[test]
    fn lenenc_integers_and_strings() {
        let mut r = Reader::new(
            b"\x05\xfc\x01\x02\xfd\x01\x02\x03\xfe\x01\0\0\0\0\0\0\0\xfb",
            "t",
        );
        assert_eq!(r.lenenc(), Ok(Some(5)));
        assert_eq!(r.lenenc(), Ok(Some(0x0201)));
        assert_eq!(r.lenenc(), Ok(Some(0x030201)));
        assert_eq!(r.lenenc(), Ok(Some(1)));
        assert_eq!(r.lenenc(), Ok(None));
        assert!(r.lenenc().is_err());
        for cut in [&b"\xfc\x01"[..], b"\xfd\x01\x02", b"\xfe\x01\x02", b"\xff"] {
            assert!(Reader::new(cut, "t").lenenc().is_err(), "{cut:?}");
        }
        // A string announcing more bytes than the packet holds.
        assert!(Reader::new(b"\xfe\xff\xff\xff\xff\xff\xff\xff\xffab", "t")
            .lenenc_bytes()
            .is_err());
    }

    #[test]
    fn query_replies_and_rows() {
        assert_eq!(
            parse_query_reply(b"\x00\x00\x00\x02\x00\x00\x00"),
            Ok(QueryReply::Ok)
        );
        assert_eq!(parse_query_reply(b"\x01"), Ok(QueryReply::Columns(1)));
        assert_eq!(parse_query_reply(b"\xfbfile"), Ok(QueryReply::LocalInfile));
        assert!(matches!(
            parse_query_reply(b"\xff\x28\x04#42000You have an error"),
            Ok(QueryReply::Error(ServerError { code: 1064, .. }))
        ));
        assert!(parse_query_reply(b"").is_err());
        assert!(parse_query_reply(b"\xfc\x00\x20").is_err()); // 8192 columns
        assert!(parse_query_reply(b"\xfc\x00").is_err());

        // Column definition of `SELECT 1 AS Seconds_Behind_Master`.
        let mut def = b"\x03def\x00\x00\x00".to_vec();
        def.push(21);
        def.extend_from_slice(
            b"Seconds_Behind_Master\x00\x0c\x3f\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00",
        );
        assert_eq!(column_name(&def).as_deref(), Ok("Seconds_Behind_Master"));
        assert!(column_name(b"\x03de").is_err());

        let row = b"\x0210\xfb\x03abc";
        assert_eq!(row_value(row, 0), Ok(Some("10".into())));
        assert_eq!(row_value(row, 1), Ok(None));
        assert_eq!(row_value(row, 2), Ok(Some("abc".into())));
        assert!(row_value(row, 3).is_err());
        assert!(row_value(b"\x05ab", 0).is_err());

        assert!(is_eof(b"\xfe\x00\x00\x02\x00"));
        assert!(!is_eof(b"\x01\x31"));
        assert!(!is_eof(b""));
    }

    #[test]
    fn login_packets() {
        let caps = client_capabilities(0xFFFF_FFFF, true);
        assert!(caps & CLIENT_SSL != 0);
        let caps_plain = client_capabilities(0xFFFF_FFFF, false);
        assert_eq!(caps_plain & CLIENT_SSL, 0);
        // Only what the server has too (CLIENT_SSL asked only with tls).
        let server = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_SSL;
        assert_eq!(
            client_capabilities(server, false),
            CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
        );
        let ssl = ssl_request(caps);
        assert_eq!(ssl.len(), 32);
        assert_eq!(&ssl[..4], &caps.to_le_bytes());
        let login = handshake_response(caps, "monitor", &[7; 20], "mysql_native_password");
        assert_eq!(&login[..32], &ssl[..]);
        assert_eq!(&login[32..40], b"monitor\0");
        assert_eq!(login[40], 20);
        assert_eq!(&login[41..61], &[7; 20]);
        assert_eq!(&login[61..], b"mysql_native_password\0");
    }

    #[tokio::test]
    async fn packets_are_framed_and_bounded() {
        let (client, mut server) = tokio::io::duplex(64);
        let mut conn = Conn::new(client);
        conn.write(b"\x03SELECT 1")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut head = [0u8; 13];
        server
            .read_exact(&mut head)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&head, b"\x09\x00\x00\x00\x03SELECT 1");
        server
            .write_all(b"\x01\x00\x00\x05\x2a")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(conn.read().await, Ok(vec![0x2a]));
        assert_eq!(conn.seq, 6);
        // A packet longer than the limit is refused before anything is read.
        server
            .write_all(b"\xff\xff\xff\x00")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            conn.read().await,
            Err(WireError::TooLarge { len: 0xFF_FFFF })
        );
        drop(server);
        assert_eq!(conn.read().await, Err(WireError::Closed));
    }
}
