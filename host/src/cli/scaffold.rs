//! `pikoci plugin new`: a plugin project that builds and passes its own test as generated.
//!
//! Templates live in host/templates/ and are compiled into the binary, with `{{name}}`-style
//! placeholders. Python and JavaScript projects carry a copy of the WIT package (their
//! toolchains read it at build time); Rust projects get it through the SDK.

use anyhow::{bail, Context};
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// The plugin's name (lower case, digits, `-`): the project folder, package and manifest name.
    pub name: String,
    /// Which plugin kind to implement.
    #[arg(long, value_enum, default_value = "resource")]
    pub kind: Kind,
    /// The language to write it in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Lang,
    /// Where to create the project; default: ./NAME. Must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The pikoci SDK (`sdk/` of a pikoci checkout) a Rust project depends on by path, since the
    /// SDK is not on crates.io. Default: the `sdk/` of a pikoci checkout above the project, else
    /// of the checkout this pikoci was built from.
    #[arg(long)]
    pub sdk_path: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Resource,
    Runner,
    Service,
    Secret,
    Notification,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
}

/// `--kind`'s short names for the plugin kinds.
impl From<Kind> for crate::runtime::PluginKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Resource => crate::runtime::PluginKind::ResourceType,
            Kind::Runner => crate::runtime::PluginKind::Runner,
            Kind::Service => crate::runtime::PluginKind::ServiceType,
            Kind::Secret => crate::runtime::PluginKind::SecretType,
            Kind::Notification => crate::runtime::PluginKind::NotificationType,
        }
    }
}

/// The WIT package a Python or JavaScript project builds against (the SDK carries it for Rust).
const WIT: &[(&str, &str)] = &[
    ("log.wit", include_str!("../../../wit/since_v0.1.1/log.wit")),
    ("notification-type.wit", include_str!("../../../wit/since_v0.1.1/notification-type.wit")),
    ("process.wit", include_str!("../../../wit/since_v0.1.1/process.wit")),
    ("resource-type.wit", include_str!("../../../wit/since_v0.1.1/resource-type.wit")),
    ("runner.wit", include_str!("../../../wit/since_v0.1.1/runner.wit")),
    ("secret-type.wit", include_str!("../../../wit/since_v0.1.1/secret-type.wit")),
    ("service-type.wit", include_str!("../../../wit/since_v0.1.1/service-type.wit")),
    ("types.wit", include_str!("../../../wit/since_v0.1.1/types.wit")),
    ("worlds.wit", include_str!("../../../wit/since_v0.1.1/worlds.wit")),
];

/// One file of a project: path inside it, template text, whether it is a script.
type TemplateFile = (String, &'static str, bool);

fn template_files(kind: Kind, lang: Lang) -> anyhow::Result<Vec<TemplateFile>> {
    let file = |path: &str, text: &'static str| (path.to_string(), text, path.ends_with(".sh"));
    let mut files = vec![file("README.md", include_str!("../../templates/README.md")), file(".gitignore", include_str!("../../templates/gitignore"))];
    match lang {
        Lang::Rust => {
            let lib = match kind {
                Kind::Resource => include_str!("../../templates/rust/resource.rs"),
                Kind::Runner => include_str!("../../templates/rust/runner.rs"),
                Kind::Service => include_str!("../../templates/rust/service.rs"),
                Kind::Secret => include_str!("../../templates/rust/secret.rs"),
                Kind::Notification => include_str!("../../templates/rust/notification.rs"),
            };
            files.extend([
                file("Cargo.toml", include_str!("../../templates/rust/Cargo.toml")),
                file("src/lib.rs", lib),
                // The example's build script is generic over the crate it sits in.
                file("build.sh", include_str!("../../../examples/plugins/rust/build.sh")),
                file("test.sh", include_str!("../../templates/rust/test.sh")),
            ]);
        }
        Lang::Python | Lang::Js if kind != Kind::Resource => {
            bail!("Python and JavaScript templates exist for --kind resource only so far; use --lang rust for a {kind:?} plugin")
        }
        Lang::Python => files.extend([
            // The resource template is the counter of examples/plugins, in every language.
            file("app.py", include_str!("../../../examples/plugins/python/app.py")),
            file("build.sh", include_str!("../../templates/python/build.sh")),
            file("test.sh", include_str!("../../templates/test-resource.sh")),
        ]),
        Lang::Js => files.extend([
            file("plugin.js", include_str!("../../../examples/plugins/js/counter.js")),
            file("build.mjs", include_str!("../../../examples/plugins/js/build.mjs")),
            file("build.sh", include_str!("../../templates/js/build.sh")),
            file("package.json", include_str!("../../templates/js/package.json")),
            file("wit/world.wit", include_str!("../../templates/js/world.wit")),
            file("test.sh", include_str!("../../templates/test-resource.sh")),
        ]),
    }
    // Python reads the package from wit/; componentize-js from wit/deps/ beside its own world.
    let wit_dir = match lang {
        Lang::Rust => None,
        Lang::Python => Some("wit"),
        Lang::Js => Some("wit/deps/pikoci-plugin"),
    };
    if let Some(dir) = wit_dir {
        files.extend(WIT.iter().map(|(name, text)| (format!("{dir}/{name}"), *text, false)));
    }
    Ok(files)
}

pub async fn run(args: &NewArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    let dir = std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    create(args, &dir)?;
    println!("created {} ({:?} plugin in {:?}) in {}", args.name, args.kind, args.lang, dir.display());
    println!("next: bash {0}/build.sh  (builds {1}.wasm), bash {0}/test.sh  (builds and tests it)", dir.display(), args.name);
    Ok(ExitCode::SUCCESS)
}

/// Write the project for `args` into `dir`.
pub fn create(args: &NewArgs, dir: &Path) -> anyhow::Result<()> {
    let name = &args.name;
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("plugin name `{name}`: use lower-case letters, digits and `-`, starting with a letter");
    }
    if dir.read_dir().map(|mut entries| entries.next().is_some()).unwrap_or(false) {
        bail!("{} already exists and is not empty", dir.display());
    }
    let files = template_files(args.kind, args.lang)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = &dir.canonicalize()?;
    let sdk_path = match args.lang {
        Lang::Rust => relative_to(&find_sdk(args.sdk_path.as_deref(), dir)?, dir),
        _ => String::new(),
    };
    let render = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{kind}}", &format!("{:?}", args.kind).to_lowercase())
            .replace("{{lang}}", &format!("{:?}", args.lang).to_lowercase())
            .replace("{{world}}", crate::runtime::PluginKind::from(args.kind).world())
            .replace("{{sdk_path}}", &sdk_path)
    };
    for (path, text, script) in files {
        let target = dir.join(&path);
        std::fs::create_dir_all(target.parent().expect("inside the project")).with_context(|| format!("cannot create {}", dir.display()))?;
        // The WIT files are copied as they are: their text is pikoci's contract, not a template.
        let text = if path.ends_with(".wit") && !path.ends_with("world.wit") { text.to_string() } else { render(text) };
        std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
        if script {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

/// The SDK folder: the one given, else `sdk/` of a pikoci checkout above the project, else of the
/// checkout this binary was built from, if it is still there.
fn find_sdk(given: Option<&Path>, project: &Path) -> anyhow::Result<PathBuf> {
    let is_sdk = |p: &Path| std::fs::read_to_string(p.join("Cargo.toml")).is_ok_and(|t| t.contains("name = \"pikoci-sdk\""));
    if let Some(p) = given {
        return match p.canonicalize() {
            Ok(p) if is_sdk(&p) => Ok(p),
            _ => bail!("--sdk-path {}: no pikoci-sdk Cargo.toml there", p.display()),
        };
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    project
        .ancestors()
        .map(|a| a.join("sdk"))
        .chain([built_from])
        .find(|p| is_sdk(p))
        .map(|p| p.canonicalize().unwrap_or(p))
        .context("the Rust SDK (pikoci-sdk) is not on crates.io yet: pass --sdk-path PATH/TO/pikoci/sdk from a checkout of pikoci")
}

/// `target` as a path relative to `from` (both canonical) when they share more than the root, so
/// a project inside the pikoci checkout keeps working when the checkout moves; else absolute.
fn relative_to(target: &Path, from: &Path) -> String {
    let common = target.components().zip(from.components()).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return target.display().to_string();
    }
    let mut rel: PathBuf = std::iter::repeat_n("..", from.components().count() - common).collect();
    rel.extend(target.components().skip(common));
    rel.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_inside_the_same_tree_is_relative() {
        let root = tempfile::tempdir().unwrap();
        let sdk = root.path().join("sdk");
        std::fs::create_dir_all(&sdk).unwrap();
        let project = root.path().join("plugins/mine");
        std::fs::create_dir_all(&project).unwrap();
        assert_eq!(relative_to(&sdk.canonicalize().unwrap(), &project.canonicalize().unwrap()), "../../sdk");
    }

    #[test]
    fn every_kind_has_a_rust_template_and_python_js_have_resource() {
        for kind in [Kind::Resource, Kind::Runner, Kind::Service, Kind::Secret] {
            assert!(template_files(kind, Lang::Rust).is_ok());
        }
        assert!(template_files(Kind::Resource, Lang::Js).unwrap().iter().any(|(p, ..)| p == "wit/deps/pikoci-plugin/worlds.wit"));
        assert!(template_files(Kind::Runner, Lang::Python).is_err());
    }
}
