//! Benchmark peer: actix-web 4 with the same routes as
//! `crates/httpserver/examples/bench.rs`.
//!
//! One worker per available CPU, TCP_NODELAY on, 127.0.0.1:$PORT. actix-web handles
//! SIGTERM itself (graceful stop of the workers).

use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct User {
    id: String,
}

async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("Hello, World!")
}

async fn json() -> HttpResponse {
    HttpResponse::Ok().json(Message {
        message: "Hello, World!",
    })
}

async fn user(id: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(User {
        id: id.into_inner(),
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    HttpServer::new(|| {
        App::new()
            .route("/plaintext", web::get().to(plaintext))
            .route("/json", web::get().to(json))
            .service(web::resource("/users/{id}").route(web::get().to(user)))
    })
    .workers(workers)
    // actix leaves TCP_NODELAY as the OS default unless asked; the other
    // servers set it, so set it here too.
    .tcp_nodelay(true)
    // actix closes idle keep-alive connections after 5 s by default;
    // httpserver keeps them 30 s. Match it (the idle-connection test holds
    // connections longer than 5 s).
    .keep_alive(Duration::from_secs(30))
    // Bounded graceful stop; the harness signals only after the load ends.
    .shutdown_timeout(5)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
