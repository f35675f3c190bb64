//! Talking to the API as the single-page frontend does: fetch a CSRF token,
//! then send unsafe requests with `X-CSRFToken` and the page's `Origin`,
//! the session riding in the cookie jar. Also raw HTTP/1.1 for the requests
//! a well-behaved client library refuses to send (duplicate Host headers,
//! absolute targets).

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::TestServer;

/// A password that passes every validator.
pub const GOOD_PASSWORD: &str = "correct horse battery staple 42";

impl TestServer {
    /// A fresh CSRF token for `client` (sets its `csrftoken` cookie).
    pub async fn csrf_token_for(&self, client: &reqwest::Client) -> String {
        let body: Value = client
            .get(self.url("/api/csrf"))
            .send()
            .await
            .expect("GET /api/csrf")
            .json()
            .await
            .expect("a JSON body");
        body["csrfToken"].as_str().expect("a csrfToken").to_owned()
    }

    /// `method path` with a JSON body, a fresh CSRF token and this site's
    /// Origin, on the server's own client.
    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> reqwest::Response {
        self.send_json_with(&self.client, method, path, body).await
    }

    pub async fn send_json_with(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let token = self.csrf_token_for(client).await;
        client
            .request(method, self.url(path))
            .header("x-csrftoken", token)
            .header("origin", self.origin())
            .json(body)
            .send()
            .await
            .expect("the request reaches the server")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// Signs up `email` with [`GOOD_PASSWORD`] on the server's client,
    /// which is then logged in.
    pub async fn signup(&self, email: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/signup",
            &serde_json::json!({"email": email, "password": GOOD_PASSWORD}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            &serde_json::json!({"email": email, "password": password}),
        )
        .await
    }

    /// Sends raw bytes and returns the status and the whole response text.
    pub async fn raw(&self, request: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.expect("connects");
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, text)
    }
}
