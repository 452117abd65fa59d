//! A resource type that does, in `check`, whatever its source asks: read or write a file, start
//! a program, make an HTTP request, loop forever, allocate without end, panic. The host's sandbox
//! tests call it to see each capability granted or refused.

use pikoci_sdk::process::Command;
use pikoci_sdk::{fs, Error, Fetched, NoParams, ResourceType, Result, Version};
use std::path::Path;

#[derive(serde::Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
enum Probe {
    Read { path: String },
    Write { path: String, contents: String },
    Run { program: String, #[serde(default)] args: Vec<String> },
    Capture { program: String, #[serde(default)] args: Vec<String> },
    Http { url: String },
    /// Start a program and try to leave it running after the call.
    Detach { program: String, #[serde(default)] args: Vec<String> },
    Loop,
    Alloc,
    Panic,
    Echo { value: String },
}

struct ProbePlugin;

fn answer(value: impl Into<String>) -> Result<Vec<Version>> {
    Ok(vec![Version::new().with("answer", value)])
}

impl ResourceType for ProbePlugin {
    type Source = Probe;
    type Params = NoParams;

    fn check(probe: Probe, _last: Option<Version>) -> Result<Vec<Version>> {
        match probe {
            Probe::Read { path } => answer(fs::read_to_string(path)?),
            Probe::Write { path, contents } => {
                fs::write(&path, &contents)?;
                answer("written")
            }
            Probe::Run { program, args } => {
                let finished = Command::new(program).args(args).run()?;
                answer(finished.code().to_string())
            }
            Probe::Capture { program, args } => answer(Command::new(program).args(args).capture().run_ok()?),
            Probe::Http { url } => answer(http_get(&url)?.to_string()),
            Probe::Detach { program, args } => {
                let child = Command::new(program).args(args).spawn()?;
                let handle = child.detach()?;
                // A second detach of the same handle must fail cleanly, not bring the host down.
                let again = child.detach().map_err(pikoci_sdk::Error::from);
                answer(format!("{handle} {}", again.is_err()))
            }
            Probe::Loop => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Probe::Alloc => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 * 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            Probe::Panic => panic!("the probe was asked to panic"),
            Probe::Echo { value } => answer(value),
        }
    }

    fn get(_s: Probe, version: Version, _p: NoParams, dir: &Path) -> Result<Fetched> {
        fs::write(dir.join("answer"), version.field("answer").unwrap_or_default())?;
        Ok(Fetched::new(version))
    }

    fn put(_s: Probe, _p: NoParams, _dir: &Path) -> Result<Fetched> {
        Err(Error::failed("the probe cannot put"))
    }
}

/// GET `url` through wasi:http and return the status code.
fn http_get(url: &str) -> Result<u16> {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{Fields, OutgoingRequest, Scheme};
    let (scheme, rest) = url.split_once("://").ok_or_else(|| Error::invalid_config("url needs a scheme"))?;
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let request = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" { Scheme::Https } else { Scheme::Http };
    request.set_scheme(Some(&scheme)).map_err(|_| Error::failed("bad scheme"))?;
    request.set_authority(Some(authority)).map_err(|_| Error::failed("bad authority"))?;
    request.set_path_with_query(Some(&path)).map_err(|_| Error::failed("bad path"))?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| Error::failed(format!("request refused: {e:?}")))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| Error::failed("no response"))?
        .map_err(|_| Error::failed("response taken twice"))?
        .map_err(|e| Error::failed(format!("HTTP request failed: {e:?}")))?;
    Ok(response.status())
}

pikoci_sdk::export_resource_type!(ProbePlugin, name = "probe");
