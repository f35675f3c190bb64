//! The forms service as its users reach it: an owner publishing a form,
//! a visitor fetching it and submitting to it without cookies.

use serde_json::Value;

use crate::TestServer;

/// A form an owner published: its id, slug and a fresh submission token.
#[derive(Debug, Clone)]
pub struct PublishedForm {
    pub id: String,
    pub slug: String,
    pub token: String,
}

impl TestServer {
    /// Creates `definition` as the logged-in owner of the server's client
    /// (201 asserted), then fetches it as a visitor for its token.
    pub async fn publish_form(&self, definition: &Value) -> PublishedForm {
        let response = self.post_json("/api/forms", definition).await;
        assert_eq!(response.status(), 201, "the form is created");
        let form: Value = response.json().await.expect("a JSON form");
        let (id, slug) = (
            form["id"].as_str().expect("an id"),
            form["slug"].as_str().expect("a slug"),
        );
        let token = self.public_form(slug).await["submission_token"]
            .as_str()
            .expect("a submission token")
            .to_owned();
        PublishedForm {
            id: id.to_owned(),
            slug: slug.to_owned(),
            token,
        }
    }

    /// `GET /api/public/forms/{slug}` as a visitor (200 asserted).
    pub async fn public_form(&self, slug: &str) -> Value {
        let response = reqwest::get(self.url(&format!("/api/public/forms/{slug}")))
            .await
            .expect("GET the public form");
        assert_eq!(response.status(), 200, "the public form is served");
        response.json().await.expect("a JSON public form")
    }

    /// A cookie-less JSON submission to the form `slug`, as an embedded
    /// form on another site sends it.
    pub async fn submit_public(&self, slug: &str, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url(&format!("/api/public/forms/{slug}/responses")))
            .json(body)
            .send()
            .await
            .expect("POST a submission")
    }
}

impl TestServer {
    /// The first page of a form's responses, as its owner (the server's
    /// client) sees them (200 asserted).
    pub async fn responses(&self, form_id: &str) -> Value {
        let response = self.get(&format!("/api/forms/{form_id}/responses")).await;
        assert_eq!(response.status(), 200, "the owner lists the responses");
        response.json().await.expect("a JSON page of responses")
    }
}
