//! One HTTP request over wasi:http, as the built-ins that talk to a web API make it (Vault,
//! chat webhooks, GitHub). The host lets it through only to hosts the call was granted.

use pikoci_sdk::{Error, Result};
use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// The largest response body read; APIs answer in kilobytes.
const MAX_BODY: usize = 4 << 20;

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A URL split as wasi:http wants it.
struct Target<'a> {
    scheme: Scheme,
    authority: &'a str,
    path: &'a str,
}

fn target(url: &str) -> Result<Target<'_>> {
    let (scheme, rest) = match url.split_once("://") {
        Some(("http", rest)) => (Scheme::Http, rest),
        Some(("https", rest)) => (Scheme::Https, rest),
        _ => return Err(Error::invalid_config(format!("`{}` must start with http:// or https://", origin(url)))),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(Error::invalid_config(format!("`{}` names no host", origin(url))));
    }
    Ok(Target { scheme, authority, path })
}

/// `scheme://host[:port]` of a URL: what messages may show of it. A webhook's path is its
/// secret, so no message quotes more.
pub fn origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()),
        None => url.split('/').next().unwrap_or_default().to_string(),
    }
}

/// Send `method url` with `headers` and `body`; `service` names the other side in messages.
/// Header values and the URL's path stay out of every error: they may hold a token.
pub fn send(method: Method, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>, service: &str) -> Result<Response> {
    let target = target(url)?;
    let mut list: Vec<(String, Vec<u8>)> = headers.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
    // A known length rather than chunks: some webhook endpoints refuse chunked requests.
    list.push(("content-length".to_string(), body.unwrap_or_default().len().to_string().into_bytes()));
    let fields = Fields::from_list(&list).map_err(|_| Error::invalid_config(format!("a header for {service} is not a valid HTTP header value")))?;
    let request = OutgoingRequest::new(fields);
    request.set_method(&method).map_err(|_| Error::failed("cannot set the request method"))?;
    request.set_scheme(Some(&target.scheme)).map_err(|_| Error::failed("cannot set the request scheme"))?;
    request.set_authority(Some(target.authority)).map_err(|_| Error::invalid_config(format!("`{}` has an invalid host", origin(url))))?;
    request.set_path_with_query(Some(target.path)).map_err(|_| Error::invalid_config(format!("the URL of {service} has an invalid path")))?;
    let outgoing = request.body().map_err(|_| Error::failed("cannot open the request body"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| request_failed(url, service, e))?;
    {
        let stream = outgoing.write().map_err(|_| Error::failed("cannot write the request body"))?;
        for chunk in body.unwrap_or_default().chunks(4096) {
            stream.blocking_write_and_flush(chunk).map_err(|e| Error::failed(format!("sending the request to {service}: {e:?}")))?;
        }
    }
    OutgoingBody::finish(outgoing, None).map_err(|e| request_failed(url, service, e))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| Error::failed(format!("{service} sent no response")))?
        .map_err(|_| Error::failed("the response was taken twice"))?
        .map_err(|e| request_failed(url, service, e))?;
    let status = response.status();
    let incoming = response.consume().map_err(|_| Error::failed(format!("cannot read the response of {service}")))?;
    let stream = incoming.stream().map_err(|_| Error::failed(format!("cannot read the response of {service}")))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(Error::failed(format!("reading the response of {service}: {}", e.to_debug_string()))),
        }
        if bytes.len() > MAX_BODY {
            return Err(Error::failed(format!("the response of {service} is larger than 4 MiB")));
        }
    }
    Ok(Response { status, body: bytes })
}

fn request_failed(url: &str, service: &str, e: ErrorCode) -> Error {
    match e {
        // The host refuses hosts the pipeline did not grant: name what to grant.
        ErrorCode::HttpRequestDenied => Error::CapabilityDenied(format!("send an HTTP request to {}", origin(url))),
        other => Error::failed(format!("cannot reach {service} at {}: {other:?}", origin(url))),
    }
}
