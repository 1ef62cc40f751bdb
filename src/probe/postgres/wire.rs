//! PostgreSQL's frontend/backend protocol 3.0, the part a login and a simple
//! query need, by hand: the frontend messages written here, the backend messages
//! read and parsed here.
//!
//! Every backend message is a type byte, a 4-byte big-endian length that counts
//! itself, and the body. The length is checked against [`MAX_MESSAGE`] before
//! anything is allocated, and the body is parsed without indexing: a hostile or
//! broken server ends its own probe with a [`WireError`], never a panic.

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// The largest backend message read: a login's messages are tens of bytes, and a
/// health query's rows are small. A larger one ends the run (the query should not
/// return megabytes) rather than being buffered.
pub const MAX_MESSAGE: usize = 1024 * 1024;

/// Protocol 3.0, as the StartupMessage carries it.
const PROTOCOL_3_0: u32 = 196_608;
/// The SSLRequest code (1234 in the high 16 bits, 5679 in the low).
const SSL_REQUEST: u32 = 80_877_103;

/// Why the server's bytes are not a message this prober understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the server closed the connection")]
    Closed,
    #[error("reading from the server: {0}")]
    Io(String),
    #[error("message length {0} is less than 4")]
    BadLength(u32),
    #[error("message of {0} bytes exceeds the {MAX_MESSAGE}-byte limit")]
    TooLarge(usize),
    #[error("truncated {0} message")]
    Truncated(&'static str),
    #[error("malformed {0} message")]
    Malformed(&'static str),
}

/// A message from the frontend (this prober).
pub mod frontend {
    use super::{PROTOCOL_3_0, SSL_REQUEST};

    /// SSLRequest: 8 bytes, no type byte.
    pub fn ssl_request() -> [u8; 8] {
        let mut m = [0u8; 8];
        m[..4].copy_from_slice(&8u32.to_be_bytes());
        m[4..].copy_from_slice(&SSL_REQUEST.to_be_bytes());
        m
    }

    /// StartupMessage with the given parameters (user, database, ...). A parameter
    /// holding NUL would end early on the server, so it is cut there.
    pub fn startup(params: &[(&str, &str)]) -> Vec<u8> {
        let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
        for (k, v) in params {
            put_cstr(&mut body, k);
            put_cstr(&mut body, v);
        }
        body.push(0);
        let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        m.extend_from_slice(&body);
        m
    }

    /// PasswordMessage: a cleartext or md5 password.
    pub fn password(password: &str) -> Vec<u8> {
        let mut body = Vec::with_capacity(password.len() + 1);
        put_cstr(&mut body, password);
        typed(b'p', &body)
    }

    /// SASLInitialResponse: the mechanism chosen and the client-first message.
    pub fn sasl_initial(mechanism: &str, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(mechanism.len() + data.len() + 5);
        put_cstr(&mut body, mechanism);
        body.extend_from_slice(&(data.len() as u32).to_be_bytes());
        body.extend_from_slice(data);
        typed(b'p', &body)
    }

    /// SASLResponse: the client-final message.
    pub fn sasl_response(data: &[u8]) -> Vec<u8> {
        typed(b'p', data)
    }

    /// Query: one simple-protocol query string.
    pub fn query(sql: &str) -> Vec<u8> {
        let mut body = Vec::with_capacity(sql.len() + 1);
        put_cstr(&mut body, sql);
        typed(b'Q', &body)
    }

    /// Terminate.
    pub fn terminate() -> Vec<u8> {
        typed(b'X', &[])
    }

    fn typed(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(body.len() + 5);
        m.push(tag);
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn put_cstr(out: &mut Vec<u8>, s: &str) {
        let bytes = s.as_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        out.extend_from_slice(&bytes[..end]);
        out.push(0);
    }
}

/// An authentication request ('R').
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Ok,
    Cleartext,
    Md5 {
        salt: [u8; 4],
    },
    /// The SASL mechanisms the server offers.
    Sasl(Vec<String>),
    SaslContinue(Vec<u8>),
    SaslFinal(Vec<u8>),
    /// Kerberos, GSSAPI, SSPI or another method this prober does not speak.
    Other(u32),
}

/// The fields of an ErrorResponse or NoticeResponse that a person reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerError {
    /// `V` (not localized) when present, else `S`.
    pub severity: String,
    /// The SQLSTATE (`C`).
    pub code: String,
    /// `M`.
    pub message: String,
}

/// A backend message this prober acts on; the rest are [`Backend::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Auth(Auth),
    ParameterStatus {
        name: String,
        value: String,
    },
    ReadyForQuery(u8),
    Error(ServerError),
    Notice(ServerError),
    RowDescription {
        columns: u16,
    },
    /// A row; only the first column's value is kept (`None` for NULL).
    DataRow {
        first: Option<Option<Vec<u8>>>,
    },
    CommandComplete(String),
    EmptyQuery,
    /// CopyInResponse, CopyOutResponse or CopyBothResponse: a query this prober
    /// cannot finish.
    Copy,
    /// BackendKeyData, NegotiateProtocolVersion, NotificationResponse, ...
    Other(u8),
}

/// Reads one backend message: type, length (checked), body, parsed.
pub async fn read<R: AsyncRead + Unpin>(io: &mut R) -> Result<Backend, WireError> {
    let mut head = [0u8; 5];
    io.read_exact(&mut head).await.map_err(io_error)?;
    let [tag, l0, l1, l2, l3] = head;
    let body_len = body_length(u32::from_be_bytes([l0, l1, l2, l3]))?;
    let mut body = vec![0u8; body_len];
    io.read_exact(&mut body).await.map_err(io_error)?;
    parse(tag, &body)
}

/// The body's length from a message's length field, checked before allocating.
pub fn body_length(len: u32) -> Result<usize, WireError> {
    let body = len.checked_sub(4).ok_or(WireError::BadLength(len))? as usize;
    if body > MAX_MESSAGE {
        return Err(WireError::TooLarge(body));
    }
    Ok(body)
}

fn io_error(e: std::io::Error) -> WireError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        WireError::Closed
    } else {
        WireError::Io(e.to_string())
    }
}

/// Parses the body of a message of type `tag`.
pub fn parse(tag: u8, body: &[u8]) -> Result<Backend, WireError> {
    let mut r = Reader { rest: body };
    let msg = match tag {
        b'R' => Backend::Auth(auth(&mut r)?),
        b'S' => Backend::ParameterStatus {
            name: r.cstr("ParameterStatus")?,
            value: r.cstr("ParameterStatus")?,
        },
        b'Z' => Backend::ReadyForQuery(r.u8("ReadyForQuery")?),
        b'E' => Backend::Error(fields(&mut r, "ErrorResponse")?),
        b'N' => Backend::Notice(fields(&mut r, "NoticeResponse")?),
        b'T' => Backend::RowDescription {
            columns: r.u16("RowDescription")?,
        },
        b'D' => Backend::DataRow {
            first: data_row(&mut r)?,
        },
        b'C' => Backend::CommandComplete(r.cstr("CommandComplete")?),
        b'I' => Backend::EmptyQuery,
        b'G' | b'H' | b'W' => Backend::Copy,
        other => Backend::Other(other),
    };
    Ok(msg)
}

fn auth(r: &mut Reader<'_>) -> Result<Auth, WireError> {
    const WHAT: &str = "Authentication";
    Ok(match r.u32(WHAT)? {
        0 => Auth::Ok,
        3 => Auth::Cleartext,
        5 => Auth::Md5 {
            salt: r
                .take(4, WHAT)?
                .try_into()
                .map_err(|_| WireError::Truncated(WHAT))?,
        },
        10 => {
            let mut mechanisms = Vec::new();
            loop {
                let m = r.cstr(WHAT)?;
                if m.is_empty() {
                    break;
                }
                mechanisms.push(m);
            }
            Auth::Sasl(mechanisms)
        }
        11 => Auth::SaslContinue(r.rest.to_vec()),
        12 => Auth::SaslFinal(r.rest.to_vec()),
        other => Auth::Other(other),
    })
}

/// The fields of an ErrorResponse or NoticeResponse: (type byte, string) pairs
/// ended by a zero byte.
fn fields(r: &mut Reader<'_>, what: &'static str) -> Result<ServerError, WireError> {
    let mut e = ServerError::default();
    let mut localized = String::new();
    loop {
        match r.u8(what)? {
            0 => break,
            b'S' => localized = r.cstr(what)?,
            b'V' => e.severity = r.cstr(what)?,
            b'C' => e.code = r.cstr(what)?,
            b'M' => e.message = r.cstr(what)?,
            _ => {
                r.cstr(what)?;
            }
        }
    }
    if e.severity.is_empty() {
        e.severity = localized;
    }
    Ok(e)
}

/// A DataRow's first column: `None` for a row of no columns, `Some(None)` for NULL.
fn data_row(r: &mut Reader<'_>) -> Result<Option<Option<Vec<u8>>>, WireError> {
    const WHAT: &str = "DataRow";
    if r.u16(WHAT)? == 0 {
        return Ok(None);
    }
    let len = r.u32(WHAT)?;
    if len == u32::MAX {
        return Ok(Some(None));
    }
    Ok(Some(Some(r.take(len as usize, WHAT)?.to_vec())))
}

/// A cursor over a message body that never reads past it.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if n > self.rest.len() {
            return Err(WireError::Truncated(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        let [b] = self.take(1, what)? else {
            return Err(WireError::Truncated(what));
        };
        Ok(*b)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes(
            b.try_into().map_err(|_| WireError::Truncated(what))?,
        ))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes(
            b.try_into().map_err(|_| WireError::Truncated(what))?,
        ))
    }

    /// A NUL-terminated string, as UTF-8 (lossy: a server's text is shown, not trusted).
    fn cstr(&mut self, what: &'static str) -> Result<String, WireError> {
        let end = self
            .rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(WireError::Malformed(what))?;
        let s = String::from_utf8_lossy(self.take(end, what)?).into_owned();
        self.take(1, what)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    async fn read_all(bytes: &[u8]) -> Vec<Result<Backend, WireError>> {
        let mut io = bytes;
        let mut out = Vec::new();
        loop {
            let r = read(&mut io).await;
            let end = r.is_err();
            out.push(r);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn frontend_messages() {
        assert_eq!(frontend::ssl_request(), [0, 0, 0, 8, 4, 210, 22, 47]);
        let s = frontend::startup(&[("user", "u"), ("database", "d\0x")]);
        assert_eq!(
            s,
            [
                &[0u8, 0, 0, 27, 0, 3, 0, 0][..],
                b"user\0u\0database\0d\0\0"
            ]
            .concat()
        );
        assert_eq!(frontend::query("SELECT 1"), framed(b'Q', b"SELECT 1\0"));
        assert_eq!(frontend::password("pw"), framed(b'p', b"pw\0"));
        assert_eq!(
            frontend::sasl_initial("SCRAM-SHA-256", b"abc"),
            framed(b'p', b"SCRAM-SHA-256\0\0\0\0\x03abc")
        );
        assert_eq!(frontend::terminate(), [b'X', 0, 0, 0, 4]);
    }

    #[tokio::test]
    async fn a_login_and_a_query_parse() {
        let mut bytes = Vec::new();
        bytes.extend(framed(
            b'R',
            b"\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0",
        ));
        bytes.extend(framed(b'R', b"\0\0\0\x05salt"));
        bytes.extend(framed(b'R', b"\0\0\0\x0br=abc"));
        bytes.extend(framed(b'R', b"\0\0\0\x0cv=xyz"));
        bytes.extend(framed(b'R', &[0, 0, 0, 0]));
        bytes.extend(framed(b'S', b"server_version\x0015.18 (Debian)\0"));
        bytes.extend(framed(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
        bytes.extend(framed(b'Z', b"I"));
        bytes.extend(framed(b'T', &[0, 1, b'x', 0]));
        bytes.extend(framed(b'D', &[0, 2, 0, 0, 0, 1, b'1', 0, 0, 0, 0]));
        bytes.extend(framed(b'D', &[0, 1, 0xff, 0xff, 0xff, 0xff]));
        bytes.extend(framed(b'D', &[0, 0]));
        bytes.extend(framed(b'C', b"SELECT 3\0"));
        bytes.extend(framed(b'I', b""));
        bytes.extend(framed(b'H', &[0, 0, 0]));
        let got = read_all(&bytes).await;
        let want = [
            Backend::Auth(Auth::Sasl(vec![
                "SCRAM-SHA-256-PLUS".into(),
                "SCRAM-SHA-256".into(),
            ])),
            Backend::Auth(Auth::Md5 { salt: *b"salt" }),
            Backend::Auth(Auth::SaslContinue(b"r=abc".to_vec())),
            Backend::Auth(Auth::SaslFinal(b"v=xyz".to_vec())),
            Backend::Auth(Auth::Ok),
            Backend::ParameterStatus {
                name: "server_version".into(),
                value: "15.18 (Debian)".into(),
            },
            Backend::Other(b'K'),
            Backend::ReadyForQuery(b'I'),
            Backend::RowDescription { columns: 1 },
            Backend::DataRow {
                first: Some(Some(b"1".to_vec())),
            },
            Backend::DataRow { first: Some(None) },
            Backend::DataRow { first: None },
            Backend::CommandComplete("SELECT 3".into()),
            Backend::EmptyQuery,
            Backend::Copy,
        ];
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.as_ref(), Ok(w));
        }
        assert_eq!(got.len(), want.len() + 1);
        assert_eq!(got.last(), Some(&Err(WireError::Closed)));
    }

    #[test]
    fn error_fields() {
        let body = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"u\"\0Fauth.c\0L335\0\0";
        assert_eq!(
            parse(b'E', body),
            Ok(Backend::Error(ServerError {
                severity: "FATAL".into(),
                code: "28P01".into(),
                message: "password authentication failed for user \"u\"".into(),
            }))
        );
        // A localized severity alone is kept.
        assert_eq!(
            parse(b'N', b"SWARNUNG\0C01000\0Mx\0\0"),
            Ok(Backend::Notice(ServerError {
                severity: "WARNUNG".into(),
                code: "01000".into(),
                message: "x".into(),
            }))
        );
    }

    #[test]
    fn garbage_and_truncated_bodies_are_errors() {
        let cases: &[(u8, &[u8])] = &[
            (b'R', b""),
            (b'R', &[0, 0]),
            (b'R', &[0, 0, 0, 5, 1, 2]),
            (b'R', b"\0\0\0\x0aSCRAM-SHA-256"),
            (b'S', b"server_version\0no end"),
            (b'S', b"no nul at all"),
            (b'Z', b""),
            (b'E', b"SFATAL\0C28P01"),
            (b'E', b"SFATAL\0"),
            (b'E', b""),
            (b'T', &[0]),
            (b'D', &[0, 1, 0, 0, 0, 9, b'x']),
            (b'D', &[0, 1, 0, 0]),
            (b'D', &[0, 1, 0x7f, 0xff, 0xff, 0xff]),
            (b'C', b"SELECT 1"),
        ];
        for (tag, body) in cases {
            assert!(
                matches!(
                    parse(*tag, body),
                    Err(WireError::Truncated(_) | WireError::Malformed(_))
                ),
                "{} {body:?}: {:?}",
                *tag as char,
                parse(*tag, body)
            );
        }
        // Unknown authentication methods and message types are named, not errors.
        assert_eq!(
            parse(b'R', &[0, 0, 0, 7]),
            Ok(Backend::Auth(Auth::Other(7)))
        );
        assert_eq!(parse(b'?', b"whatever"), Ok(Backend::Other(b'?')));
        // Invalid UTF-8 is shown, not refused.
        assert_eq!(
            parse(b'C', b"\xffok\0"),
            Ok(Backend::CommandComplete("\u{fffd}ok".into()))
        );
    }

    #[tokio::test]
    async fn lengths_are_checked_before_reading() {
        assert_eq!(body_length(3), Err(WireError::BadLength(3)));
        assert_eq!(body_length(4), Ok(0));
        assert_eq!(
            body_length(u32::MAX),
            Err(WireError::TooLarge(u32::MAX as usize - 4))
        );
        // A huge announced length fails before any allocation or read.
        let mut io: &[u8] = &[b'D', 0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(read(&mut io).await, Err(WireError::TooLarge(_))));
        let mut io: &[u8] = &[b'Z', 0, 0, 0, 2];
        assert_eq!(read(&mut io).await, Err(WireError::BadLength(2)));
        // A message cut short by the peer closing.
        let mut io: &[u8] = &[b'Z', 0, 0, 0, 5];
        assert_eq!(read(&mut io).await, Err(WireError::Closed));
        let mut io: &[u8] = &[b'Z', 0, 0];
        assert_eq!(read(&mut io).await, Err(WireError::Closed));
        // Random bytes never panic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut bytes = Vec::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(seed as u8);
            }
            let tag = bytes.first().copied().unwrap_or(b'R');
            let _ = parse(tag, &bytes);
            let _ = parse(b'R', &bytes);
            let _ = parse(b'E', &bytes);
            let _ = parse(b'D', &bytes);
            let _ = read_all(&bytes).await;
        }
    }
}
