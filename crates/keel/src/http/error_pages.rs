//! Error pages for browsers: a request outside `/api/` that accepts HTML
//! gets a small HTML page instead of problem JSON, for every problem status
//! (400, 403, 404, 405, 413, 429, 500, 503 and the rest). The page says what
//! the problem says, with the request id, and nothing about the server.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::header::{self, HeaderValue};

use super::problem::Problem;

fn wants_html(request: &Request) -> bool {
    if request.uri().path().starts_with("/api/") {
        return false;
    }
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn page(problem: &Problem) -> String {
    let title = format!("{} {}", problem.status.as_u16(), problem.title);
    let id = problem.request_id.as_deref().unwrap_or("");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n<p>{detail}</p>\n<p><small>Request id: <code>{id}</code></small></p>\n</main>\n</body>\n</html>\n",
        title = escape(&title),
        detail = escape(&problem.detail),
        id = escape(id),
    )
}

/// Middleware: re-renders problems as HTML pages for browsers.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let html = wants_html(&request);
    let response = next.run(request).await;
    if !html {
        return response;
    }
    let Some(problem) = response.extensions().get::<Problem>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let mut page = Html(page(&problem)).into_response();
    // Keep the headers that mean something to the client (Allow,
    // Retry-After, Location, cookies), replace the body's own.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    std::mem::swap(page.headers_mut(), &mut parts.headers);
    *page.status_mut() = problem.status;
    page.extensions_mut().insert(problem);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let mut problem = Problem::bad_request("<script>alert(1)</script>");
        problem.request_id = Some("\"><img>".to_owned());
        let html = page(&problem);
        assert!(!html.contains("<script>") && !html.contains("<img>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
