//! DNS peers for the dns prober's tests: a real dnsmasq serving a test zone on
//! loopback (UDP and TCP), an in-process responder that records every query and
//! answers as the test says, and a TLS front (DNS over TLS) to either.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::Record;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The zone dnsmasq serves, authoritatively, on 127.0.0.1.
pub(crate) const ZONE: &str = "zone.test";
pub(crate) const SOA_SERIAL: u32 = 2024010101;

/// dnsmasq on 127.0.0.1 and a free port (UDP and TCP), killed on drop.
pub(crate) struct Dnsmasq {
    child: Child,
    pub(crate) addr: SocketAddr,
}

fn dnsmasq_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("dnsmasq"))
            .find(|p| p.is_file())
    });
    let found = on_path.or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/dnsmasq");
        sbin.is_file().then_some(sbin)
    });
    found.unwrap_or_else(|| {
        panic!(
            "dnsmasq is not installed: run `apt-get install -y dnsmasq-base` \
             (or scripts/install-test-deps.sh)"
        )
    })
}

/// A port free for both UDP and TCP on 127.0.0.1 just now.
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Dnsmasq {
    /// Starts dnsmasq with the test zone and waits until it answers.
    pub(crate) async fn start() -> Dnsmasq {
        let binary = dnsmasq_binary();
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&binary)
                .args(dnsmasq_args(port))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let mut d = Dnsmasq {
                child,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            };
            if d.ready().await {
                return d;
            }
        }
        panic!("dnsmasq did not start (see its stderr above)");
    }

    /// Polls with a query until dnsmasq answers; false when it exited.
    async fn ready(&mut self) -> bool {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let query = query_bytes(ZONE);
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                eprintln!("dnsmasq exited with {status}: {err}");
                return false;
            }
            socket.send_to(&query, self.addr).await.unwrap();
            let mut buf = [0u8; 512];
            let got = tokio::time::timeout(Duration::from_millis(50), socket.recv(&mut buf)).await;
            if matches!(got, Ok(Ok(_))) {
                return true;
            }
        }
        false
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The zone: A/AAAA, TXT, CNAME, MX, NS and SOA records under `zone.test`, served
/// authoritatively; names outside it are REFUSED, missing names in it NXDOMAIN.
fn dnsmasq_args(port: u16) -> Vec<String> {
    let z = ZONE;
    [
        "--keep-in-foreground".to_string(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        format!("--port={port}"),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--pid-file=".into(),
        "--conf-file=/dev/null".into(),
        "--log-facility=-".into(),
        format!("--host-record=host.{z},192.0.2.1,2001:db8::1"),
        format!("--host-record=ns.{z},192.0.2.53"),
        format!("--host-record=mail.{z},192.0.2.25"),
        format!("--txt-record=txt.{z},v=spf1 -all,second string"),
        format!("--cname=alias.{z},host.{z}"),
        format!("--mx-host=mx.{z},mail.{z},10"),
        format!("--auth-zone={z}"),
        format!("--auth-soa={SOA_SERIAL},hostmaster.{z},1200,180,1209600"),
        format!("--auth-server=ns.{z},127.0.0.1"),
    ]
    .to_vec()
}

/// A plain A query for `name` (readiness checks).
fn query_bytes(name: &str) -> Vec<u8> {
    let mut m = Message::query();
    m.add_query(hickory_proto::op::Query::query(
        hickory_proto::rr::Name::from_ascii(name).unwrap(),
        hickory_proto::rr::RecordType::SOA,
    ));
    m.to_vec().unwrap()
}

/// A query the responder received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) peer: SocketAddr,
    pub(crate) tcp: bool,
    pub(crate) query: Message,
}

/// How the responder answers a query: the bytes to send back, or `None` for silence.
pub(crate) type Answer = Arc<dyn Fn(&Message) -> Option<Vec<u8>> + Send + Sync>;

/// An in-process DNS server on `ip` (UDP and TCP on one port) that records queries.
pub(crate) struct Responder {
    pub(crate) addr: SocketAddr,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Responder {
    pub(crate) async fn start(ip: IpAddr, answer: Answer) -> Responder {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind((ip, 0)).await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind((ip, port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let udp_task = tokio::spawn(serve_udp(udp, answer.clone(), seen.clone()));
        let tcp_task = tokio::spawn(serve_tcp(tcp, answer, seen.clone()));
        Responder {
            addr,
            seen,
            tasks: vec![udp_task, tcp_task],
        }
    }

    pub(crate) fn queries(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve_udp(socket: UdpSocket, answer: Answer, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = vec![0u8; 65535];
    while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
        let Ok(query) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let reply = answer(&query);
        seen.lock().unwrap().push(Seen {
            peer,
            tcp: false,
            query,
        });
        if let Some(reply) = reply {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

async fn serve_tcp(listener: TcpListener, answer: Answer, seen: Arc<Mutex<Vec<Seen>>>) {
    while let Ok((mut stream, peer)) = listener.accept().await {
        let (answer, seen) = (answer.clone(), seen.clone());
        tokio::spawn(async move {
            let Ok(len) = stream.read_u16().await else {
                return;
            };
            let mut body = vec![0u8; usize::from(len)];
            if stream.read_exact(&mut body).await.is_err() {
                return;
            }
            let Ok(query) = Message::from_vec(&body) else {
                return;
            };
            let reply = answer(&query);
            seen.lock().unwrap().push(Seen {
                peer,
                tcp: true,
                query,
            });
            match reply {
                Some(reply) => {
                    let mut out = (reply.len() as u16).to_be_bytes().to_vec();
                    out.extend_from_slice(&reply);
                    let _ = stream.write_all(&out).await;
                }
                // Silence: hold the connection open until the prober gives up.
                None => {
                    let _ = stream.read_u8().await;
                }
            }
        });
    }
}

/// The response to `query` with `answers` and `additionals` (NOERROR, RD echoed).
pub(crate) fn reply(query: &Message, answers: Vec<Record>, additionals: Vec<Record>) -> Vec<u8> {
    let mut m = Message::response(query.metadata.id, query.metadata.op_code);
    m.metadata.message_type = MessageType::Response;
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.add_queries(query.queries.clone());
    m.add_answers(answers);
    m.add_additionals(additionals);
    m.to_vec().unwrap()
}

/// A TLS front on 127.0.0.1 that passes each connection's bytes to `upstream`
/// over TCP: DNS over TLS in front of a plain DNS server.
pub(crate) async fn tls_front(
    upstream: SocketAddr,
    cfg: Arc<rustls::ServerConfig>,
) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(cfg);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, task)
}
