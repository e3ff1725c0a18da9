//! A real HTTP client (`ureq`) against the server.

mod support;

use httpserver::response::{created, ok};
use httpserver::{Request, Router, Server};
use serde_json::{json, Value};
use support::*;

#[test]
fn json_api_through_a_real_client() {
    let mut server = Server::new(config());
    server.get("/users/:id", |req: &Request| {
        ok(json!({"id": req.param("id")}))
    });
    server.post("/users", |req: &Request| {
        let user: Value = req.json()?;
        Ok(created(json!({"id": 1, "user": user})))
    });
    let mut api = Router::new();
    api.get("/search", |req: &Request| ok(json!({"q": req.query("q")})));
    server.mount("/api", api);
    let srv = TestServer::start(server);
    let base = format!("http://{}", srv.addr);

    let v: Value = ureq::get(&format!("{base}/users/J%C3%B6rg"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(v, json!({"id": "Jörg"}));

    let res = ureq::post(&format!("{base}/users"))
        .send_json(json!({"name": "ada"}))
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.into_json::<Value>().unwrap(),
        json!({"id": 1, "user": {"name": "ada"}})
    );

    let err = ureq::post(&format!("{base}/users"))
        .set("content-type", "application/json")
        .send_string("{not json")
        .unwrap_err();
    match err {
        ureq::Error::Status(code, res) => {
            assert_eq!(code, 400);
            assert!(res.into_string().unwrap().contains("invalid JSON"));
        }
        other => panic!("{other}"),
    }

    let v: Value = ureq::get(&format!("{base}/api/search?q=a+b%21"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(v, json!({"q": "a b!"}));

    match ureq::get(&format!("{base}/missing")).call() {
        Err(ureq::Error::Status(404, _)) => {}
        other => panic!("{other:?}"),
    }
}
