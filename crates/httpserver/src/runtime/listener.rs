//! The listening socket, set up through `socket2`.

use std::net::{IpAddr, SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

use crate::ServerConfig;

/// Binds a non-blocking listener as `config` says: SO_REUSEADDR always,
/// SO_REUSEPORT when asked, IPv6 sockets dual-stack when bound to `::`.
pub(crate) fn bind(config: &ServerConfig) -> std::io::Result<TcpListener> {
    let ip: IpAddr = config
        .host
        .parse()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "invalid host"))?;
    let addr = SocketAddr::new(ip, config.port);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if config.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(config.backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}
